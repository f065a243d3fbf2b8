// Sign-up, sign-in with two-factor verification (a code by SMS, voice call or WhatsApp), payments with step-up, password reset
// and sign-out. State lives in memory only: the flow_id, the payment_id and the token are
// never written to storage, to the URL bar or to the page.
"use strict";

// config.js: where the API is ("" = this origin) and, on the local stack only, the Telnyx
// emulator's outbox (docs/web.md).
const CONFIG = window.PHONE_VERIFY_CONFIG || {};
const API_URL = String(CONFIG.apiUrl || "").replace(/\/+$/, "");
const OUTBOX_URL = CONFIG.emulatorOutboxUrl || "";

const $ = (id) => document.getElementById(id);
const el = {
  title: $("title"), status: $("status"), wait: $("wait"),
  signin: $("signin"), signinEmail: $("signin-email"), signinPassword: $("signin-password"),
  signup: $("signup"), signupPhone: $("signup-phone"),
  reset: $("reset"), resetEmail: $("reset-email"),
  codeForm: $("code-form"), codeHint: $("code-hint"), code: $("code"), codeError: $("code-error"),
  codeLabel: $("code-label"), emailCodeField: $("email-code-field"), emailCode: $("email-code"),
  emailCodeHint: $("email-code-hint"),
  summary: $("payment-summary"), summaryAmount: $("summary-amount"), summaryCurrency: $("summary-currency"),
  summaryRecipient: $("summary-recipient"), summaryDescription: $("summary-description"),
  summaryDescriptionRow: $("summary-description-row"), newPasswordField: $("new-password-field"),
  newPassword: $("new-password"), expiry: $("expiry"), delivery: $("delivery"),
  verifyButton: $("verify"), resend: $("resend"), restart: $("restart"),
  codeActions: $("code-actions"), resendCall: $("resend-call"), resendWhatsapp: $("resend-whatsapp"),
  outbox: $("outbox"), outboxLink: $("outbox-link"), footer: $("footer"),
  outboxEmail: $("outbox-email"), outboxEmailLink: $("outbox-email-link"),
  signedIn: $("signed-in"), greeting: $("greeting"), pay: $("pay"), signOut: $("sign-out"),
  phone: $("phone"), emailChange: $("email-change"),
  receipt: $("receipt"), receiptAmount: $("receipt-amount"), receiptCurrency: $("receipt-currency"),
  receiptRecipient: $("receipt-recipient"), receiptTransaction: $("receipt-transaction"),
  receiptDescription: $("receipt-description"), receiptDescriptionRow: $("receipt-description-row"),
  receiptDone: $("receipt-done"),
};

const SCREENS = {
  signin: { node: el.signin, title: "Sign in" },
  signup: { node: el.signup, title: "Create an account" },
  reset: { node: el.reset, title: "Reset your password" },
  code: { node: el.codeForm, title: "Enter your code" },
  "signed-in": { node: el.signedIn, title: "Signed in" },
  receipt: { node: el.receipt, title: "Payment complete" },
  phone: { node: el.phone, title: "Phone number" },
};

// What each flow's code screen calls, and where it returns when the flow is over.
const FLOWS = {
  login: {
    verify: "/login/verify", resend: "/login/resend", back: "signin", button: "Verify",
    cancelLabel: "Use a different account",
    again: "Too many attempts. Please start the login process again.",
  },
  // Two codes: one by SMS (resent by "Resend SMS code"), one by email (sent once).
  register: {
    verify: "/register/verify", resend: "/register/resend", back: "signup",
    button: "Verify", cancelLabel: "Cancel sign-up", emailCode: true, resendLabel: "Resend SMS code",
    again: "Too many attempts. Please start the sign-up again.",
  },
  reset: {
    verify: "/password/reset/verify", resend: "/password/reset/resend", back: "reset",
    button: "Reset password", cancelLabel: "Cancel", newPassword: true,
    again: "Too many attempts. Please start the password reset again.",
  },
  payment: {
    verify: "/payments/confirm", resend: "/payments/resend", back: "signed-in",
    button: "Confirm payment", cancelLabel: "Cancel payment", idField: "payment_id", auth: true,
    again: "Too many attempts. The payment was not made.",
  },
  // Fresh authentication before a phone or email change (docs/sessions.md#fresh-authentication):
  // the code sent to the current phone, for a reauth token. `back` and `again` are the
  // change's (stepUp below).
  reauth: {
    verify: "/account/reauth/verify", resend: "/account/reauth/resend", back: "phone",
    button: "Confirm", cancelLabel: "Cancel", auth: true,
    intro: "To confirm it is you, enter the code",
    again: "Too many attempts. Please start the phone change again.",
  },
  phone: {
    verify: "/account/phone/verify", resend: "/account/phone/resend", back: "phone",
    button: "Verify", cancelLabel: "Cancel", auth: true, taken: "phone",
    again: "Too many attempts. Please start the phone change again.",
  },
};

let pending = null;     // {flow, id, payment, channel, channels}: the verification on screen, in memory only
let token = null;       // the access token, in memory only
let knownPhone = "";    // the full number typed at sign-up, for the local outbox link only
let knownEmail = "";    // the address typed at sign-up, for the local email outbox link only
let stepUpFor = null;   // {back, again, then(reauthToken)}: the change a step-up on screen is for
let codeLength = 6;
let expiresAt = 0;      // ms timestamps; the countdowns are computed from the clock
let resendAt = 0;
let waitUntil = 0;      // a 429's Retry-After, counted down in the message
let waitText = "";
let expired = false;
let verifying = false;
let resending = false;
let deliveryPoll = null;
let deliveryFailed = false; // the provider said the current code never reached the phone
let payIntent = null;   // {values, key}: the Idempotency-Key of the payment being submitted

const EXPIRED_MSG = "Code expired. Click Resend to get a new code.";
const mmss = (secs) => `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
const secsUntil = (at) => Math.ceil((at - Date.now()) / 1000);

// -- messages ---------------------------------------------------------------------------
function say(message, kind = "") {
  el.status.textContent = message;
  el.status.className = "status" + (kind ? " " + kind : "");
}

// A 429's wait counts down ("Please wait 27 s") in a role="timer", which is not announced
// every second; the code input names it in its aria-describedby.

function waitFor(secs, text) {
  waitUntil = Date.now() + secs * 1000;
  waitText = text;
  say("");
  renderWait();
}

function renderWait() {
  const left = secsUntil(waitUntil);
  const shown = left > 90 ? mmss(left) : `${left} s`;
  el.wait.textContent = left > 0 ? `${waitText} Please wait ${shown}.` : "";
}

// An error tied to its input: aria-invalid and the message in its aria-describedby.
for (const node of document.querySelectorAll(".field-error")) node.setAttribute("aria-live", "polite");

function fieldError(input, message) {
  const error = $(`${input.id}-error`);
  error.textContent = message;
  input.setAttribute("aria-invalid", "true");
  const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  if (!ids.includes(error.id)) input.setAttribute("aria-describedby", [...ids, error.id].join(" "));
}

// A second input the same message is about (sign-up's two codes: which one was wrong is not said).
function markInvalidToo(input, error) {
  input.setAttribute("aria-invalid", "true");
  const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
  if (!ids.includes(error.id)) input.setAttribute("aria-describedby", [...ids, error.id].join(" "));
}

function clearErrors(scope) {
  for (const node of scope.querySelectorAll(".field-error")) node.textContent = "";
  for (const node of scope.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

// The server names the field of a 400 (`field`); the form's input of that name shows it.
function showError(form, data, status, fallback) {
  const input = data.field && form.querySelector(`[name="${CSS.escape(data.field)}"]`);
  const message = data.error || `${fallback} (HTTP ${status}).`;
  if (input) {
    say("");
    fieldError(input, message);
    input.focus();
  } else {
    say(message, "error");
  }
}

function show(screen) {
  for (const [name, { node }] of Object.entries(SCREENS)) node.hidden = name !== screen;
  // The code screen links the outbox itself ("Local stack: …"): the footer would say it twice.
  el.footer.hidden = !OUTBOX_URL || screen === "code";
  el.title.textContent = SCREENS[screen].title;
  document.title = `${SCREENS[screen].title} · Phone Verify`;
}

function go(screen, focus) {
  if (screen !== "code") leaveCode();
  clearErrors(document);
  waitUntil = 0;
  renderWait();
  show(screen);
  (focus || SCREENS[screen].node.querySelector("input, button")).focus();
}

// -- HTTP -------------------------------------------------------------------------------
async function post(path, body, { auth = false, headers = {} } = {}) {
  const response = await fetch(API_URL + path, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(auth && token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
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

// The proof-of-work gate (docs/web.md): a sign-up and a password reset carry a solved
// challenge of GET /challenge as `altcha`, found while the submit button is busy. A challenge
// that cannot be had or solved sends none: where the server asks for one, it says so
// (challenge_required or challenge_invalid) and the request is made once more with a fresh one.
async function proofOfWork() {
  try {
    const response = await fetch(API_URL + "/challenge", { cache: "no-store" });
    if (!response.ok) return {};
    return { altcha: await window.PhoneVerifyAltcha.solve(await response.json()) };
  } catch {
    return {};
  }
}

const CHALLENGE_CODES = ["challenge_required", "challenge_invalid"];

async function postWithProof(path, body) {
  const answer = await post(path, { ...body, ...(await proofOfWork()) });
  if (answer.status !== 400 || !CHALLENGE_CODES.includes(answer.data.code)) return answer;
  return post(path, { ...body, ...(await proofOfWork()) });
}

// A sign-in carries a solution only when asked: the server asks an address over its cap of
// wrong passwords (docs/abuse-controls.md), so a person behind a busy office address still
// signs in, without a step of their own.
async function postSolvingWhenAsked(path, body) {
  const answer = await post(path, body);
  if (answer.status !== 400 || !CHALLENGE_CODES.includes(answer.data.code)) return answer;
  return post(path, { ...body, ...(await proofOfWork()) });
}

// One submit at a time per form; a network failure is a message, never a stuck button.
function onSubmit(form, busyText, failText, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button.disabled) return;
    button.disabled = true;
    clearErrors(form);
    say(busyText);
    try {
      await handler();
    } catch {
      say(`${failText} Check your connection and try again.`, "error");
    } finally {
      button.disabled = false;
    }
  });
}

const valuesOf = (form) => Object.fromEntries(new FormData(form).entries());

for (const link of document.querySelectorAll("[data-go]")) {
  link.addEventListener("click", () => {
    say("");
    go(link.dataset.go);
  });
}

// -- sign in ----------------------------------------------------------------------------
onSubmit(el.signin, "Signing in…", "Could not sign in.", async () => {
  const { email, password } = valuesOf(el.signin);
  const { status, data } = await postSolvingWhenAsked("/login", { email: email.trim(), password });
  if (status === 200 && data.requires_2fa) {
    el.signinPassword.value = "";
    // second-step.js offers a passkey or an app first, when the account has one.
    if (!window.PhoneVerifyFactors?.secondStep("login", data)) startCode("login", data.flow_id, data);
  } else if (status === 200 && data.token) {
    el.signinPassword.value = "";
    await signIn(data.token);
  } else if (status === 401) {
    say("Invalid credentials", "error");
    el.signinPassword.value = "";
    el.signinPassword.focus();
  } else if (status === 429 && data.code === "account_locked") {
    say(data.error || "This account is locked. Reset your password to unlock it.", "error");
    el.signin.querySelector("[data-go=reset]").focus(); // the way out the message names
  } else if (status === 429) {
    waitFor(data.retry_after, "Too many failed sign-in attempts.");
  } else {
    showError(el.signin, data, status, "Sign-in failed");
  }
});

// -- sign up ----------------------------------------------------------------------------
onSubmit(el.signup, "Creating your account…", "Could not create the account.", async () => {
  const values = valuesOf(el.signup);
  const body = {
    name: values.name.trim(), email: values.email.trim(),
    phone_number: values.phone_number.replace(/[\s().-]/g, ""), password: values.password,
  };
  const { status, data } = await postWithProof("/register/start", body);
  if (status === 200 && data.flow_id) {
    knownPhone = body.phone_number;
    knownEmail = body.email;
    el.signup.querySelector("[name=password]").value = "";
    startCode("register", data.flow_id, data);
  } else if (status === 429) {
    waitFor(data.retry_after, "Too many attempts.");
  } else {
    showError(el.signup, data, status, "Sign-up failed");
  }
});

// -- password reset ---------------------------------------------------------------------
onSubmit(el.reset, "Sending a code…", "Could not send the code.", async () => {
  const { status, data } = await postWithProof("/password/reset/start", {
    email: el.resetEmail.value.trim(),
  });
  if (status === 200 && data.flow_id) {
    startCode("reset", data.flow_id, data);
  } else if (status === 429) {
    waitFor(data.retry_after, "Too many codes asked for.");
  } else {
    showError(el.reset, data, status, "Password reset failed");
  }
});

// -- the code screen: one component for every flow --------------------------------------
function startCode(flowName, id, data, payment = null, override = {}) {
  const flow = { ...FLOWS[flowName], ...override };
  const channels = Array.isArray(data.channels) ? data.channels : ["sms"];
  pending = { flow, name: flowName, id, payment, channel: data.channel || "sms", channels };
  codeLength = Number(data.code_length) || 6;
  for (const input of [el.code, el.emailCode]) {
    input.maxLength = codeLength;
    input.value = "";
    input.disabled = false;
  }
  el.newPassword.value = "";
  el.newPasswordField.hidden = !flow.newPassword;
  el.emailCodeField.hidden = !flow.emailCode;
  el.emailCodeHint.textContent = `Code sent by email to ${data.email_hint || "your email"}.`;
  el.verifyButton.textContent = flow.button;
  el.restart.textContent = flow.cancelLabel;
  el.summary.hidden = !payment;
  if (payment) {
    el.summaryAmount.textContent = payment.amount;
    el.summaryCurrency.textContent = payment.currency;
    el.summaryRecipient.textContent = payment.recipient;
    showDescription(el.summaryDescriptionRow, el.summaryDescription, payment.description);
  }
  pending.phoneHint = data.phone_hint || "your phone";
  showHint();
  showOutboxLink();
  go("code", el.code);
  say("");
  startTimers(data.timeout_secs ?? 300, data.resend_after_secs ?? 30);
  watchDelivery();
}

// How the current code travels: "We sent a code to …", "We are calling … to read out a code".
const HOW = {
  sms: (to) => `we sent a code to ${to}`,
  call: (to) => `we are calling ${to} to read out a code`,
  whatsapp: (to) => `we sent a code by WhatsApp to ${to}`,
};
// Sign-up asks for two codes: each field says where its code went.
const HOW_BESIDE_EMAIL = {
  sms: (to) => [`SMS code`, `code sent by SMS to ${to}`],
  call: (to) => [`Code from the call`, `code read out by a call to ${to}`],
  whatsapp: (to) => [`WhatsApp code`, `code sent by WhatsApp to ${to}`],
};

function showHint() {
  if (pending.flow.emailCode) {
    const [label, how] = (HOW_BESIDE_EMAIL[pending.channel] || HOW_BESIDE_EMAIL.sms)(pending.phoneHint);
    el.codeLabel.textContent = label;
    el.codeHint.textContent = `${how[0].toUpperCase()}${how.slice(1)}.`;
    return;
  }
  el.codeLabel.textContent = "Verification code";
  const how = (HOW[pending.channel] || HOW.sms)(pending.phoneHint);
  const intro = pending.payment ? "To authorise this payment, enter the code" : pending.flow.intro;
  el.codeHint.textContent = intro ? `${intro}: ${how}.` : `${how[0].toUpperCase()}${how.slice(1)}.`;
}

// The local stack only: where the emulator keeps the "SMS", for this phone only. The full
// number is known after a sign-up or a phone change typed it; otherwise the emulator matches
// the masked number the API answered (`phone_hint`, docs/telnyx-emulator.md).
function showOutboxLink() {
  if (!OUTBOX_URL) return;
  const url = new URL(OUTBOX_URL, window.location.href);
  if (knownPhone && (pending.name === "register" || pending.name === "phone")) {
    url.searchParams.set("phone_number", knownPhone);
  } else if (pending.phoneHint.includes("*")) {
    url.searchParams.set("phone_hint", pending.phoneHint);
  }
  el.outboxLink.href = url.toString();
  el.outbox.hidden = false;
  // The emulator keeps the emails beside the SMS (/_emulator/emails?to=).
  const emails = new URL(url.pathname.replace(/messages$/, "emails"), url);
  emails.searchParams.set("to", knownEmail);
  el.outboxEmailLink.href = emails.toString();
  el.outboxEmail.hidden = !(pending.flow.emailCode && knownEmail);
}

function startTimers(timeoutSecs, resendAfterSecs) {
  expiresAt = Date.now() + timeoutSecs * 1000;
  resendAt = Date.now() + resendAfterSecs * 1000;
  expired = false;
  el.verifyButton.disabled = false;
  tick();
}

// Telnyx reports on the SMS through a webhook. The page is told of each report as it comes
// in over the live-status WebSocket (live-status.js), after one catch-up read once it is
// subscribed; where the socket cannot open, GET /verify/status is polled while the code
// screen is up, until the SMS is delivered or could not be. A payment is asked about by its
// payment_id with the token (its flow id never leaves the server, so it is always polled);
// the id goes only in this query, the token only in the header.
const DELIVERY_TEXT = {
  sent: "Sent", delivered: "Delivered", delivery_unconfirmed: "Sent",
  sending_failed: "Could not be delivered — resend",
  delivery_failed: "Could not be delivered — resend",
};
// How far along each report is. Reports only move forward (docs/webhooks.md), so one that
// arrives late (a catch-up read answered after a newer push) is older and is not shown.
const DELIVERY_STEP = {
  sent: 1, delivery_unconfirmed: 1, delivered: 2, sending_failed: 2, delivery_failed: 2,
};
const CHANNEL_NAME = { sms: "SMS", call: "Call", whatsapp: "WhatsApp" };
const PAYMENT_TEXT = {
  processing: "Payment processing…", completed: "Payment completed", failed: "Payment failed",
};
const POLL_MS = 2000;
const MAX_POLLS = 60;
const live = window.PhoneVerifyLiveStatus;

function watchDelivery() {
  clearTimeout(deliveryPoll);
  el.delivery.textContent = "";
  deliveryFailed = false;
  offerChannels();
  if (!pending) return;
  const watched = pending;
  const { flow } = watched;
  let polls = 0;
  let step = 0; // of the report shown
  let settled = false;
  // Shows what the status says, unless an equal or newer report is already shown; true
  // once nothing more will change.
  const show = (data) => {
    if (settled) return true;
    const text = DELIVERY_TEXT[data.delivery_status];
    const reported = DELIVERY_STEP[data.delivery_status] || 0;
    if (text && reported > step) {
      step = reported;
      el.delivery.textContent = `${CHANNEL_NAME[data.channel || watched.channel] || "SMS"}: ${text}`;
      if (text.startsWith("Could not") && !deliveryFailed) {
        deliveryFailed = true;
        offerChannels();
      }
    }
    // A payment's own outcome (payment_status): completed or failed, by its confirmation or
    // by the reconciler that settles one a failure left processing (docs/payments.md).
    const paid = PAYMENT_TEXT[data.payment_status];
    if (paid) el.delivery.textContent = paid;
    const paying = data.payment_status === "processing"
      || (data.payment_status === "pending" && data.status === "verified");
    settled = !paying && (step === 2 || Boolean(data.status && data.status !== "pending"));
    return settled;
  };
  // One GET /verify/status: its body, or null (and refused: asking again will not help).
  const read = async () => {
    try {
      const query = new URLSearchParams({ [flow.idField || "flow_id"]: watched.id });
      const response = await fetch(`${API_URL}/verify/status?${query}`, {
        cache: "no-store",
        headers: flow.auth && token ? { Authorization: `Bearer ${token}` } : {},
      });
      if (response.ok) return { data: await response.json(), refused: false };
      return { data: null, refused: [400, 401, 403, 404].includes(response.status) };
    } catch {
      return { data: null, refused: false };
    }
  };
  const check = async () => {
    if (pending !== watched) return;
    const { data, refused } = await read();
    if (pending !== watched || refused) return;
    const done = data ? show(data) : false;
    if (!done && ++polls < MAX_POLLS) deliveryPoll = setTimeout(check, POLL_MS);
  };
  const subscribed = !flow.idField && live && live.watch(watched.id, {
    onOpen: async () => { // a report that came in before the subscription
      const { data } = await read();
      if (pending === watched && data && show(data)) live.stop();
    },
    onStatus: (data) => {
      if (pending === watched && show(data)) live.stop();
    },
    onUnavailable: () => {
      if (pending === watched) deliveryPoll = setTimeout(check, 0);
    },
  });
  if (!subscribed) deliveryPoll = setTimeout(check, 500);
}

// A pending code the person walks away from is cancelled, so it can no longer be used.
function cancelPending() {
  if (!pending) return;
  const { flow, id } = pending;
  pending = null;
  fetch(`${API_URL}/verify/cancel`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(flow.auth && token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ [flow.idField || "flow_id"]: id }),
    keepalive: true, // completes even while the page unloads
  }).catch(() => {});
}

function leaveCode() {
  cancelPending();
  live?.stop();
  clearTimeout(deliveryPoll);
  deliveryPoll = null;
  el.delivery.textContent = "";
  el.outbox.hidden = true;
}

// The flow is over on the server (verified, closed or gone): nothing left to cancel.
function endCode() {
  pending = null;
  leaveCode();
}

window.addEventListener("pagehide", cancelPending);

function tick() {
  renderWait();
  if (!pending) return;
  const left = secsUntil(expiresAt);
  if (left > 0) {
    el.expiry.textContent = `Code expires in ${mmss(left)}`;
  } else if (!expired) {
    expire();
  }
  const wait = Math.max(secsUntil(resendAt), secsUntil(waitUntil));
  el.resend.disabled = resending || wait > 0;
  const resendLabel = pending.flow.resendLabel || "Resend code";
  el.resend.textContent = wait > 0 ? `${resendLabel} (${wait} s)` : resendLabel;
  offerChannels(wait <= 0);
}

// The other channels this deployment offers (the start answer's `channels`), once a resend
// is allowed; when the current code could not be delivered, the first of them comes before
// "Resend code" and is the one to press.
const CHANNEL_BUTTONS = () => [el.resendCall, el.resendWhatsapp];

function offerChannels(ready = false) {
  for (const button of CHANNEL_BUTTONS()) {
    const channel = button.dataset.channel;
    const offered = Boolean(pending) && pending.channels.includes(channel)
      && pending.channel !== channel;
    const show = offered && ready;
    if (button.hidden === show) button.hidden = !show;
    button.disabled = resending;
  }
  const first = CHANNEL_BUTTONS().find((button) => !button.hidden);
  const lead = deliveryFailed && first ? first : el.resend;
  if (lead.previousElementSibling !== el.verifyButton) el.verifyButton.after(lead);
  for (const button of CHANNEL_BUTTONS()) {
    const wanted = button === lead ? "primary-alt" : "";
    if (button.className !== wanted) button.className = wanted;
  }
}

setInterval(tick, 250);

function expire() {
  expired = true;
  expiresAt = 0;
  resendAt = 0; // an expired code can always be replaced
  el.expiry.textContent = "";
  el.code.value = "";
  el.code.disabled = true;
  el.emailCode.disabled = true; // kept: a resend renews the SMS's code only, the email's stands
  el.verifyButton.disabled = true;
  fieldError(el.code, EXPIRED_MSG);
  tick();
  el.resend.focus();
}

// Digits only; a pasted SMS ("Your code is 123456", "123 456") yields just the code.
function extractCode(text) {
  const exact = text.match(new RegExp(`(?:^|\\D)(\\d{${codeLength}})(?!\\d)`));
  return exact ? exact[1] : text.replace(/\D/g, "");
}

// What the flow needs beside the code before it can be sent: the new password (a reset),
// the email's code (a sign-up).
function missingBesideCode() {
  if (pending?.flow.newPassword && !el.newPassword.value) {
    return [el.newPassword, "Enter a new password."];
  }
  if (pending?.flow.emailCode && el.emailCode.value.length !== codeLength) {
    return [el.emailCode, `Enter the ${codeLength}-digit code sent by email.`];
  }
  return null;
}

function onCodeChanged(input) {
  const digits = input.value.replace(/\D/g, "").slice(0, codeLength);
  if (digits !== input.value) input.value = digits;
  // Auto-submit once every field is in.
  if (el.code.value.length === codeLength && !missingBesideCode()) verify();
}

for (const input of [el.code, el.emailCode]) {
  input.addEventListener("input", () => onCodeChanged(input));
  input.addEventListener("paste", (event) => {
    event.preventDefault(); // maxlength would otherwise cut "Your code is 123456" short
    const digits = extractCode(event.clipboardData?.getData("text") || "");
    const { value, selectionStart: start, selectionEnd: end } = input;
    input.value = digits.length >= codeLength ? digits
      : (value.slice(0, start) + digits + value.slice(end)).slice(0, codeLength);
    onCodeChanged(input);
  });
}

el.codeForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (el.code.value.length !== codeLength) {
    fieldError(el.code, `Enter the ${codeLength}-digit code.`);
    el.code.focus();
  } else if (missingBesideCode()) {
    const [input, message] = missingBesideCode();
    fieldError(input, message);
    input.focus();
  } else {
    verify();
  }
});

async function verify() {
  if (verifying || expired || !pending) return;
  const current = pending;
  const { flow } = current;
  verifying = true;
  el.code.readOnly = true;
  clearErrors(el.codeForm);
  say("Verifying…");
  let focusCode = true;
  try {
    const body = { [flow.idField || "flow_id"]: current.id, code: el.code.value };
    if (flow.newPassword) body.new_password = el.newPassword.value;
    if (flow.emailCode) body.email_code = el.emailCode.value;
    const { status, data } = await post(flow.verify, body, { auth: flow.auth });
    if (pending !== current) return;
    focusCode = false;
    say("");
    if (status === 200 || status === 201) {
      endCode();
      verified(current, data);
    } else if (status === 401 && typeof data.attempts_remaining === "number") {
      const n = data.attempts_remaining;
      const left = `${n} ${n === 1 ? "attempt" : "attempts"} remaining.`;
      if (flow.emailCode) {
        // The server does not say which of the two was wrong (a taken email fails alike).
        fieldError(el.code, `One of the codes is wrong. ${left}`);
        markInvalidToo(el.emailCode, el.codeError);
        el.emailCode.value = "";
      } else {
        fieldError(el.code, `Invalid code. ${left}`);
      }
      el.code.value = "";
      focusCode = true;
    } else if (status === 401 && flow.auth) {
      endCode();
      signedOut("Your session has ended. Please sign in again.");
    } else if (status === 410 && !flow.idField) {
      expire();
    } else if (status === 429) {
      endCode();
      go(flow.back);
      say(current.name === "login" ? flow.again : data.error || flow.again, "error");
    } else if (status === 400 && data.code === "factor_required" && current.name === "reset") {
      // The code was right, and the flow stays open for it: ended here without a cancel.
      endCode();
      askStronger(current, body, data);
    } else if (status === 400 && ["code", "email_code", "new_password"].includes(data.field)) {
      showError(el.codeForm, data, status, "Verification failed");
    } else if (status === 400 || status === 404 || status === 409 || status === 410) {
      // Over on the server: no pending code (400), expired payment (410), taken (409).
      endCode();
      go(status === 409 ? flow.taken || "signin" : flow.back);
      say(data.error || `Verification failed (HTTP ${status}).`, "error");
    } else {
      fieldError(el.code, data.error || `Verification failed (HTTP ${status}).`);
      focusCode = true;
    }
  } catch {
    say("");
    fieldError(el.code, "Could not verify. Check your connection and try again.");
  } finally {
    verifying = false;
    el.code.readOnly = false;
    if (focusCode && !el.codeForm.hidden && !el.code.disabled) el.code.focus();
  }
}

// A reset of an account with a passkey or an app: its right SMS code is not enough
// (docs/factors.md). The second step (second-step.js) asks for that factor, or a recovery
// code, and sends it with the same code and new password.
function askStronger(current, body, data) {
  const carry = { code: body.code, new_password: body.new_password };
  const asked = { flow_id: current.id, factors: data.factors };
  if (!window.PhoneVerifyFactors?.secondStep("reset", asked, { carry })) {
    go(current.flow.back);
    say(data.error || "This account needs its stronger factor to reset the password.", "error");
  }
}

function verified(current, data) {
  if (current.name === "login" || current.name === "register") {
    signIn(data.token).catch(() => go("signed-in", el.title));
  } else if (current.name === "reset") {
    passwordWasReset();
  } else if (current.name === "reauth") {
    const change = stepUpFor;
    stepUpFor = null;
    change.then(data.reauth_token).catch(() => {
      go(change.back);
      say("Could not send the code. Check your connection and try again.", "error");
    });
  } else if (current.name === "phone") {
    // Every earlier token of the account ended with the change: this one replaces ours.
    if (data.token) token = data.token;
    el.phone.reset();
    go("signed-in", el.title);
    say(`Your phone number is now ${data.phone_hint}. Sign-in codes go there from now on.`, "info");
  } else {
    showReceipt(current.payment, data);
  }
}

// The end of a reset, by its code or by its second step (second-step.js): the email just
// reset is filled in, the new password is what is left to type.
function passwordWasReset() {
  el.signinEmail.value = el.resetEmail.value.trim();
  go("signin", el.signinPassword);
  say("Your password has been reset. Sign in with the new password.", "info");
}

// A new code; `channel` null lets the server choose (SMS, or a call after a failed SMS
// where the deployment falls back).
async function resendCode(channel) {
  if (resending || !pending) return;
  const current = pending;
  const { flow } = current;
  resending = true;
  say(channel === "call" ? "Calling you…" : "Sending a new code…");
  tick();
  try {
    const body = { [flow.idField || "flow_id"]: current.id };
    if (channel) body.channel = channel;
    const { status, data } = await post(flow.resend, body, { auth: flow.auth });
    if (pending !== current) return;
    if (status === 200) {
      clearErrors(el.codeForm);
      el.code.disabled = false;
      el.emailCode.disabled = false;
      el.code.value = "";
      current.channel = data.channel || channel || "sms";
      showHint();
      startTimers(data.timeout_secs ?? 300, data.resend_after_secs ?? 30);
      watchDelivery();
      say(current.channel === "call" ? "We are calling you with a new code." : "We sent a new code.", "info");
      el.code.focus();
    } else if (status === 429) {
      waitFor(data.retry_after, "Too many codes asked for.");
      if (!el.code.disabled) el.code.focus();
    } else {
      if (status === 400 && data.field === "channel" && channel) {
        current.channels = current.channels.filter((c) => c !== channel); // not for this number
      }
      say(data.error || `Could not resend the code (HTTP ${status}).`, "error");
      el.code.focus();
    }
  } catch {
    say("Could not resend the code. Check your connection and try again.", "error");
  } finally {
    resending = false;
    tick();
  }
}

el.resend.addEventListener("click", () => resendCode(null));
for (const button of CHANNEL_BUTTONS()) {
  button.addEventListener("click", () => resendCode(button.dataset.channel));
}

el.restart.addEventListener("click", () => {
  const back = pending ? pending.flow.back : "signin";
  go(back); // leaving the code screen cancels the pending code
  say("");
});

// -- signed in: payments and sign-out ---------------------------------------------------
// The greeting names the account (GET /account's name, else its email), never the token's
// subject; without an answer it says only that someone is signed in.
function greet(account) {
  const who = account && (account.name || account.email);
  el.greeting.replaceChildren();
  if (!who) {
    el.greeting.textContent = "You are signed in.";
    return;
  }
  const name = document.createElement("strong");
  name.textContent = who;
  el.greeting.append("You are signed in as ", name, ".");
}

// Every sign-in that ends with a token asks GET /account: an email not proven yet (an
// account made before sign-up proved emails) is offered its proof first (email.js).
async function signIn(jwt) {
  token = jwt;
  greet(null);
  const account = await accountOf(jwt);
  if (token !== jwt) return; // signed out meanwhile
  greet(account);
  // lost-phone.js shows a phone number change waiting on the account, with its cancel;
  // security.js keeps the account's factors (a payment offers a passkey only if it holds one).
  window.dispatchEvent(new CustomEvent("phoneverify:signed-in", { detail: { account } }));
  if (account && account.email_proven === false && window.PhoneVerifyEmail) {
    window.PhoneVerifyEmail.askToProve(account);
    return;
  }
  go("signed-in", el.title);
  say("");
}

// The signed-in account (GET /account), or null when it cannot be had: the page goes on.
async function accountOf(jwt) {
  try {
    const response = await fetch(API_URL + "/account", {
      cache: "no-store", headers: { Authorization: `Bearer ${jwt}` },
    });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

function signedOut(message) {
  token = null;
  el.pay.reset();
  el.phone.reset();
  el.emailChange.reset();
  go("signin");
  say(message, "info");
}

function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

onSubmit(el.pay, "Sending the payment…", "Could not send the payment.", async () => {
  const values = valuesOf(el.pay);
  const payment = {
    amount: values.amount.trim(), currency: values.currency,
    recipient: values.recipient.trim(), description: values.description.trim(),
  };
  // The same payment submitted again (after a lost answer) keeps its Idempotency-Key.
  const same = JSON.stringify(payment);
  if (!payIntent || payIntent.values !== same) payIntent = { values: same, key: randomKey() };
  const { status, data } = await post("/payments/initiate", payment, {
    auth: true, headers: { "Idempotency-Key": payIntent.key },
  });
  if (status === 200 && data.requires_verification) {
    payIntent = null;
    const shown = { ...payment, amount: data.amount ?? payment.amount, currency: data.currency ?? payment.currency };
    if (!window.PhoneVerifyFactors?.secondStep("payment", data, { payment: shown })) {
      startCode("payment", data.payment_id, data, shown);
    }
  } else if (status === 200) {
    payIntent = null;
    showReceipt(payment, data);
  } else if (status === 401) {
    signedOut("Your session has ended. Please sign in again.");
  } else if (status === 429) {
    waitFor(data.retry_after, "Too many payments.");
  } else {
    showError(el.pay, data, status, "Payment failed");
  }
});

// -- the phone number: add or change it, after confirming it is you ---------------------
// The password, then (an account with a phone) a code to the current phone: the step-up's
// reauth token lets the change start (docs/phone-lifecycle.md). It is kept in memory only,
// for the one request that needs it.
const PHONE_FORM = /^\+?[0-9]{7,15}$/;

onSubmit(el.phone, "Checking your password…", "Could not send the code.", async () => {
  const values = valuesOf(el.phone);
  const phoneNumber = values.phone_number.replace(/[\s().-]/g, "");
  if (!PHONE_FORM.test(phoneNumber)) {
    const input = el.phone.querySelector('[name="phone_number"]');
    fieldError(input, "Enter the number in international format, starting with + and the country code.");
    input.focus();
    return;
  }
  await stepUp(el.phone, {
    back: "phone", fallback: "Could not change the phone number",
    again: "Too many attempts. Please start the phone change again.",
    then: (reauthToken) => startPhoneChange(phoneNumber, reauthToken),
  });
});

// The step-up every sensitive change asks first (docs/sessions.md#fresh-authentication): the
// password of `form`, then (an account with a phone) the code screen for a code to the
// current phone; the reauth token goes to `change.then`. `change.back`: the change's form.
async function stepUp(form, change) {
  const password = form.querySelector('[name="password"]');
  const { status, data } = await post("/account/reauth/start", { password: password.value }, { auth: true });
  password.value = "";
  if (status === 200 && data.reauth_token) {
    await change.then(data.reauth_token);
  } else if (status === 200 && data.flow_id) {
    stepUpFor = change;
    if (!window.PhoneVerifyFactors?.secondStep("reauth", data, { back: change.back })) {
      startCode("reauth", data.flow_id, data, null, { back: change.back, again: change.again });
    }
  } else if (status === 401 && data.field === "password") {
    showError(form, data, status, "Wrong password");
  } else if (status === 401) {
    signedOut("Your session has ended. Please sign in again.");
  } else if (status === 429) {
    waitFor(data.retry_after, data.code === "login_throttled" ? "Too many wrong passwords." : "Too many codes asked for.");
  } else {
    showError(form, data, status, change.fallback);
  }
}

async function startPhoneChange(phoneNumber, reauthToken) {
  say("Sending a code…");
  const { status, data } = await post("/account/phone/start", { phone_number: phoneNumber }, {
    auth: true, headers: { "Reauth-Token": reauthToken },
  });
  if (status === 200 && data.flow_id) {
    knownPhone = phoneNumber;
    startCode("phone", data.flow_id, data);
  } else if (status === 401 && data.code === "reauth_required") {
    go("phone");
    say("Please confirm it is you again.", "error");
  } else if (status === 401) {
    signedOut("Your session has ended. Please sign in again.");
  } else if (status === 429) {
    go("phone");
    waitFor(data.retry_after, "Too many codes asked for.");
  } else {
    go("phone");
    showError(el.phone, data, status, "Could not change the phone number");
  }
}

function showReceipt(payment, data) {
  el.receiptAmount.textContent = data.amount ?? payment.amount;
  el.receiptCurrency.textContent = data.currency ?? payment.currency;
  el.receiptRecipient.textContent = payment.recipient;
  showDescription(el.receiptDescriptionRow, el.receiptDescription, payment.description);
  el.receiptTransaction.textContent = data.transaction_id || "";
  el.pay.reset();
  go("receipt", el.title);
  say("");
}

// A payment's description (optional): its row only when there is one.
function showDescription(row, node, description) {
  node.textContent = description || "";
  row.hidden = !description;
}

el.receiptDone.addEventListener("click", () => go("signed-in"));

// Sign out ends the token on the server first; it is forgotten here either way.
el.signOut.addEventListener("click", async () => {
  el.signOut.disabled = true;
  try {
    await post("/logout", {}, { auth: true });
  } catch {
    // offline: the token is still forgotten here, and expires on its own
  } finally {
    el.signOut.disabled = false;
  }
  signedOut("You have signed out.");
});

go("signin");
