"""Telnyx: the Verify client, the code sender and the webhook signature check."""
