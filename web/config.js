// Where the page finds the API: "" is the page's own origin (the local stack serves both).
// Hosting web/ elsewhere: set apiUrl to the API's URL, e.g.
// "https://abc123.execute-api.eu-west-1.amazonaws.com/dev", and the stack's AllowedOrigin
// parameter to this page's origin (docs/web.md). The local stack serves its own config.js,
// which adds emulatorOutboxUrl: a link to the Telnyx emulator's outbox on the code screen.
// websocketUrl: the stack's LiveStatusWebSocketUrl output (wss://...), where the code screen
// is told of the SMS's delivery as it happens; "" polls GET /verify/status (docs/realtime.md).
window.PHONE_VERIFY_CONFIG = { apiUrl: "", websocketUrl: "" };
