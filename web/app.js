// Login with SMS two-factor verification. State lives in memory only: the flow_id
// and the token are never written to storage or to the URL.
"use strict";

const $ = (id) => document.getElementById(id);
const el = {
  title: $("title"), status: $("status"), loginForm: $("login-form"), email: $("email"),
  password: $("password"), codeForm: $("code-form"), codeHint: $("code-hint"), code: $("code"),
  expiry: $("expiry"), verifyButton: $("verify"), resend: $("resend"), restart: $("restart"), signedIn: $("signed-in"),
  subject: $("subject"), signOut: $("sign-out"),
};

let flowId = null;      // the pending verification, in memory only
let token = null;       // the access token, in memory only
let codeLength = 6;
let expiresAt = 0;      // ms timestamps; the countdowns are computed from the clock
let resendAt = 0;
let expired = false;
let ticker = null;
let verifying = false;
let resending = false;
let deliveryPoll = null; // GET /verify/status while the code screen is up

const EXPIRED_MSG = "Code expired. Click Resend to get a new code.";

function say(message, kind = "") {
  el.status.textContent = message;
  el.status.className = "status" + (kind ? " " + kind : "");
}

function show(screen) {
  el.loginForm.hidden = screen !== "login";
  el.codeForm.hidden = screen !== "code";
  el.signedIn.hidden = screen !== "signed-in";
  const titles = { login: "Sign in", code: "Enter your code", "signed-in": "Signed in" };
  el.title.textContent = titles[screen];
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = {};
  }
  if (response.status === 429 && data.retry_after == null) {
    data.retry_after = Number(response.headers.get("Retry-After")) || 30;
  }
  return { status: response.status, data };
}

const mmss = (secs) => `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
const secsUntil = (at) => Math.ceil((at - Date.now()) / 1000);

// -- sign in ----------------------------------------------------------------------------
el.loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = el.loginForm.querySelector("button[type=submit]");
  if (button.disabled) return;
  button.disabled = true;
  say("Signing in…");
  try {
    const { status, data } = await post("/login", {
      email: el.email.value.trim(),
      password: el.password.value,
    });
    if (status === 200 && data.requires_2fa) startCode(data);
    else if (status === 200 && data.token) signIn(data.token);
    else if (status === 401) {
      say("Invalid credentials", "error");
      el.password.value = "";
      el.password.focus();
    } else {
      say(data.error || `Sign-in failed (HTTP ${status}).`, "error");
      if (data.field && el[data.field]) el[data.field].focus();
    }
  } catch {
    say("Could not sign in. Check your connection and try again.", "error");
  } finally {
    button.disabled = false;
  }
});

// -- the code screen --------------------------------------------------------------------
function startCode(data) {
  flowId = data.flow_id;
  codeLength = Number(data.code_length) || 6;
  el.password.value = "";
  el.code.maxLength = codeLength;
  el.code.value = "";
  el.code.disabled = false;
  el.codeHint.textContent = `We sent a code to ${data.phone_hint || "your phone"}.`;
  show("code");
  say("");
  startTimers(data.timeout_secs ?? 300, data.resend_after_secs ?? 30);
  watchDelivery();
  el.code.focus();
}

function startTimers(timeoutSecs, resendAfterSecs) {
  expiresAt = Date.now() + timeoutSecs * 1000;
  resendAt = Date.now() + resendAfterSecs * 1000;
  expired = false;
  el.verifyButton.disabled = false;
  clearInterval(ticker);
  ticker = setInterval(tick, 250);
  tick();
}

function stopTimers() {
  clearInterval(ticker);
  ticker = null;
  clearTimeout(deliveryPoll);
  deliveryPoll = null;
}

// Telnyx reports on the SMS through a webhook; the status endpoint passes that on. A few
// checks after each send: enough to say so when the SMS could not be delivered.
const UNDELIVERABLE = new Set(["sending_failed", "delivery_failed"]);

function watchDelivery() {
  clearTimeout(deliveryPoll);
  const watched = flowId;
  let checks = 0;
  const check = async () => {
    if (flowId !== watched) return;
    let data = {};
    try {
      const response = await fetch(`/verify/status?flow_id=${encodeURIComponent(watched)}`);
      data = response.ok ? await response.json() : {};
    } catch {
      data = {};
    }
    if (flowId !== watched) return;
    if (UNDELIVERABLE.has(data.delivery_status)) {
      say("We could not deliver the SMS. Click Resend to try again.", "error");
      return;
    }
    if (data.delivery_status === "delivered" || (data.status && data.status !== "pending")) return;
    if (++checks < 10) deliveryPoll = setTimeout(check, 3000);
  };
  deliveryPoll = setTimeout(check, 2000);
}

// A pending code the person walks away from is cancelled, so it can no longer be used.
function cancelPending() {
  if (!flowId) return;
  fetch("/verify/cancel", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ flow_id: flowId }),
    keepalive: true, // completes even while the page unloads
  }).catch(() => {});
}

window.addEventListener("pagehide", cancelPending);

function tick() {
  const left = secsUntil(expiresAt);
  if (left > 0) {
    el.expiry.textContent = `Code expires in ${mmss(left)}`;
  } else if (!expired) {
    expire();
  }
  const wait = secsUntil(resendAt);
  el.resend.disabled = resending || wait > 0;
  el.resend.textContent = wait > 0 ? `Resend code (${wait} s)` : "Resend code";
}

function expire() {
  expired = true;
  expiresAt = 0;
  resendAt = 0; // an expired code can always be replaced
  el.expiry.textContent = "";
  el.code.value = "";
  el.code.disabled = true;
  el.verifyButton.disabled = true;
  say(EXPIRED_MSG, "error");
  tick();
  el.resend.focus();
}

// Digits only; a pasted SMS ("Your code is 123456", "123 456") yields just the code.
function extractCode(text) {
  const exact = text.match(new RegExp(`(?:^|\\D)(\\d{${codeLength}})(?!\\d)`));
  return exact ? exact[1] : text.replace(/\D/g, "");
}

function onCodeChanged() {
  const digits = el.code.value.replace(/\D/g, "").slice(0, codeLength);
  if (digits !== el.code.value) el.code.value = digits;
  if (digits.length === codeLength) verify();
}

el.code.addEventListener("input", onCodeChanged);
el.code.addEventListener("paste", (event) => {
  event.preventDefault(); // maxlength would otherwise cut "Your code is 123456" short
  const digits = extractCode(event.clipboardData?.getData("text") || "");
  const { value, selectionStart: start, selectionEnd: end } = el.code;
  el.code.value = digits.length >= codeLength ? digits
    : (value.slice(0, start) + digits + value.slice(end)).slice(0, codeLength);
  onCodeChanged();
});

el.codeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (el.code.value.length !== codeLength) {
    say(`Enter the ${codeLength}-digit code.`, "error");
    el.code.focus();
  } else {
    verify();
  }
});

async function verify() {
  if (verifying || expired || !flowId) return;
  verifying = true;
  el.code.readOnly = true;
  say("Verifying…");
  try {
    const { status, data } = await post("/login/verify", { flow_id: flowId, code: el.code.value });
    if (status === 200) {
      signIn(data.token);
    } else if (status === 401) {
      const n = data.attempts_remaining;
      say(typeof n === "number"
        ? `Invalid code. ${n} ${n === 1 ? "attempt" : "attempts"} remaining.`
        : "Invalid code.", "error");
      el.code.value = "";
    } else if (status === 410) {
      expire();
    } else if (status === 429) {
      backToLogin();
      say("Too many attempts. Please start the login process again.", "error");
    } else {
      say(data.error || `Verification failed (HTTP ${status}).`, "error");
    }
  } catch {
    say("Could not verify. Check your connection and try again.", "error");
  } finally {
    verifying = false;
    el.code.readOnly = false;
    if (!el.codeForm.hidden && !el.code.disabled) el.code.focus();
  }
}

el.resend.addEventListener("click", async () => {
  if (resending || !flowId) return;
  resending = true;
  say("Sending a new code…");
  tick();
  try {
    const { status, data } = await post("/login/resend", { flow_id: flowId });
    if (status === 200) {
      el.code.disabled = false;
      el.code.value = "";
      startTimers(data.timeout_secs ?? 300, data.resend_after_secs ?? 30);
      watchDelivery();
      say("We sent a new code.", "info");
      el.code.focus();
    } else if (status === 429) {
      resendAt = Date.now() + data.retry_after * 1000;
      say(`Please wait ${data.retry_after} s`, "error");
    } else {
      say(data.error || `Could not resend the code (HTTP ${status}).`, "error");
    }
  } catch {
    say("Could not resend the code. Check your connection and try again.", "error");
  } finally {
    resending = false;
    if (flowId) tick();
  }
});

el.restart.addEventListener("click", () => {
  cancelPending();
  backToLogin();
  say("");
});

function backToLogin() {
  flowId = null;
  stopTimers();
  show("login");
  (el.email.value ? el.password : el.email).focus();
}

// -- signed in --------------------------------------------------------------------------
// The token's payload is decoded for display only; the server checks the signature.
function tokenSubject(jwt) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)).sub || "unknown";
  } catch {
    return "unknown";
  }
}

function signIn(jwt) {
  token = jwt;
  flowId = null;
  stopTimers();
  el.subject.textContent = tokenSubject(token);
  show("signed-in");
  say("");
  el.title.focus();
}

el.signOut.addEventListener("click", () => {
  token = null;
  show("login");
  say("You have signed out.", "info");
  el.email.focus();
});

show("login");
el.email.focus();
