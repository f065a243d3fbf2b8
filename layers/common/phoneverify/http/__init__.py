"""The HTTP edge: request and response models, the one error-to-status table, auth helpers
and the handler factory."""
