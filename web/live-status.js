// Live delivery status (docs/realtime.md): the code screen subscribes to its flow over the
// API's WebSocket (config.js websocketUrl) and is told each delivery report as it comes in,
// in the shape of GET /verify/status's body. When the socket cannot open (no websocketUrl,
// a proxy that refuses WebSockets, the server refusing the flow), the caller polls instead.
"use strict";

window.PhoneVerifyLiveStatus = (() => {
  const CONFIG = window.PHONE_VERIFY_CONFIG || {};
  const BASE = String(CONFIG.websocketUrl || "").replace(/\/+$/, "");
  let socket = null;

  // Close the current subscription, if any; its callbacks are not called again.
  function stop() {
    const current = socket;
    socket = null;
    if (current) current.close(1000);
  }

  // Watch one flow: onOpen() once subscribed, onStatus(body) for each message, and
  // onUnavailable() once if the socket fails or closes without stop(). False when live
  // status is not configured here (the caller polls at once).
  function watch(flowId, { onOpen, onStatus, onUnavailable }) {
    stop();
    if (!BASE || !flowId || typeof WebSocket !== "function") return false;
    let ws;
    try {
      ws = new WebSocket(`${BASE}?${new URLSearchParams({ flow_id: flowId })}`);
    } catch {
      return false;
    }
    socket = ws;
    ws.onopen = () => {
      if (socket === ws) onOpen();
    };
    ws.onmessage = (event) => {
      if (socket !== ws) return;
      let data = null;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (data && typeof data.status === "string") onStatus(data);
    };
    ws.onclose = () => {
      if (socket !== ws) return; // closed by stop()
      socket = null;
      onUnavailable();
    };
    return true;
  }

  return { watch, stop };
})();
