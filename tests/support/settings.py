"""A complete function environment (the settings every function needs), for unit tests of
configuration and wiring."""

from __future__ import annotations

VALID: dict[str, str] = {
    "USERS_TABLE": "UsersTable",
    "VERIFICATIONS_TABLE": "VerificationsTable",
    "AUDIT_TABLE": "AuditTable",
    "TELNYX_API_BASE_URL": "https://api.telnyx.com/",
    "TELNYX_API_KEY_PARAM": "/phone-verify/dev/telnyx-api-key",
    "TELNYX_VERIFY_PROFILE_ID_PARAM": "/phone-verify/dev/telnyx-verify-profile-id",
    "TELNYX_MESSAGING_SENDER_PARAM": "/phone-verify/dev/telnyx-messaging-sender",
    "JWT_SIGNING_SECRET_PARAM": "/phone-verify/dev/jwt-signing-secret",
    "HASH_PEPPER_PARAM": "/phone-verify/dev/hash-pepper",
    "JWT_ISSUER": "iss",
    "JWT_AUDIENCE": "aud",
    "ACCESS_TOKEN_TTL_SECONDS": "3600",
    "VERIFY_CODE_LENGTH": "6",
    "ALLOWED_ORIGIN": "https://app.example",
    # Every function has it (template.yaml Globals); CodeSettings reads it (docs/notices.md).
    "NOTICES_OUTBOX_TABLE": "NoticesOutboxTable",
}
