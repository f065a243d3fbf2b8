// The account's email (docs/web.md): after a sign-in, an email not proven yet (an account made
// before sign-up proved emails) is offered its proof; signed in, "Change email" takes the
// step-up (app.js `stepUp`, as the phone change does), then a new address and its code.
// Uses app.js's screens, `post`, `say`, `token` and `stepUp`; the flow id lives in memory only.
(() => {
  const E = {
    prove: $("email-prove"), proveAddress: $("email-prove-address"),
    proveSend: $("email-prove-send"), proveLater: $("email-prove-later"),
    change: $("email-change"), changeEmail: $("email-change-email"),
    codeForm: $("email-code-form"), code: $("email-code-form-code"), hint: $("email-code-form-hint"),
    back: $("email-code-form-back"),
  };
  SCREENS["email-prove"] = { node: E.prove, title: "Prove your email" };
  SCREENS["email-change"] = { node: E.change, title: "Change email" };
  SCREENS["email-code"] = { node: E.codeForm, title: "Enter your code" };

  // A light check before the step-up is spent on an address the server would refuse; the
  // server's own check still decides (a 400 naming `email`).
  const LOOKS_LIKE_EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
  const SIGNED_OUT = "Your session has ended. Please sign in again.";

  let account = null; // GET /account's answer, for the address to prove
  let proof = null;   // {flowId, start, codeLength}: the email code on screen; `start`: its first screen

  function askToProve(signedIn) {
    account = signedIn;
    E.proveAddress.textContent = signedIn.email;
    go("email-prove");
    say("");
  }

  function askCode(data, start) {
    proof = { flowId: data.flow_id, start, codeLength: Number(data.code_length) || 6 };
    E.code.maxLength = proof.codeLength;
    E.code.value = "";
    const minutes = Math.max(1, Math.round((Number(data.timeout_secs) || 600) / 60));
    E.hint.textContent = `We sent a code by email to ${data.email_hint}. Enter it to prove the ` +
      `address is yours; it works for ${minutes} minutes.`;
    E.back.textContent = start === "email-prove" ? "Back" : "Cancel";
    go("email-code", E.code);
    say("");
  }

  // The account's own address: no step-up (proving it changes nothing but the mark).
  E.proveSend.addEventListener("click", async () => {
    if (E.proveSend.disabled || !account) return;
    E.proveSend.disabled = true;
    say("Sending a code…");
    try {
      const { status, data } = await post("/account/email/start", { email: account.email }, { auth: true });
      if (status === 200 && data.flow_id) askCode(data, "email-prove");
      else if (status === 401) signedOut(SIGNED_OUT);
      else if (status === 429) waitFor(data.retry_after, "Too many codes asked for.");
      else say(data.error || `Could not send the code (HTTP ${status}).`, "error");
    } catch {
      say("Could not send the code. Check your connection and try again.", "error");
    } finally {
      E.proveSend.disabled = false;
    }
  });

  E.proveLater.addEventListener("click", () => {
    go("signed-in", el.title);
    say("");
  });

  // Another address: the step-up first, then a code to the new address.
  onSubmit(E.change, "Checking your password…", "Could not send the code.", async () => {
    const email = E.changeEmail.value.trim();
    if (!LOOKS_LIKE_EMAIL.test(email)) {
      say("");
      fieldError(E.changeEmail, "Enter an email address, such as name@example.com.");
      E.changeEmail.focus();
      return;
    }
    await stepUp(E.change, {
      back: "email-change", fallback: "Could not change the email",
      again: "Too many attempts. Please start the email change again.",
      then: (reauthToken) => startChange(email, reauthToken),
    });
  });

  async function startChange(email, reauthToken) {
    say("Sending a code…");
    const { status, data } = await post("/account/email/start", { email }, {
      auth: true, headers: { "Reauth-Token": reauthToken },
    });
    if (status === 200 && data.flow_id) {
      askCode(data, "email-change");
    } else if (status === 401 && data.code === "reauth_required") {
      go("email-change");
      say("Please confirm it is you again.", "error");
    } else if (status === 401) {
      signedOut(SIGNED_OUT);
    } else if (status === 429) {
      go("email-change");
      waitFor(data.retry_after, "Too many codes asked for.");
    } else {
      go("email-change");
      showError(E.change, data, status, "Could not change the email");
    }
  }

  // The code: digits only, sent once all are in (the button stays for keyboard users).
  E.code.addEventListener("input", () => {
    const digits = E.code.value.replace(/\D/g, "").slice(0, proof?.codeLength ?? 10);
    if (digits !== E.code.value) E.code.value = digits;
    if (proof && digits.length === proof.codeLength) E.codeForm.requestSubmit();
  });

  onSubmit(E.codeForm, "Verifying…", "Could not verify.", async () => {
    if (!proof) return;
    const current = proof;
    if (E.code.value.length !== current.codeLength) {
      say("");
      fieldError(E.code, `Enter the ${current.codeLength}-digit code.`);
      E.code.focus();
      return;
    }
    const { status, data } = await post("/account/email/verify", {
      flow_id: current.flowId, code: E.code.value,
    }, { auth: true });
    if (proof !== current) return;
    if (status === 200) {
      proof = null;
      if (account) account = { ...account, email: data.email, email_proven: true };
      E.change.reset();
      go("signed-in", el.title);
      say(data.changed ? `Your email is now ${data.email}.` : `Your email ${data.email} is proven.`, "info");
    } else if (status === 401 && typeof data.attempts_remaining === "number") {
      const n = data.attempts_remaining;
      say("");
      E.code.value = "";
      fieldError(E.code, `Invalid code. ${n} ${n === 1 ? "attempt" : "attempts"} remaining.`);
      E.code.focus();
    } else if (status === 401) {
      proof = null;
      signedOut(SIGNED_OUT);
    } else if (status === 400 && data.field === "code") {
      showError(E.codeForm, data, status, "Verification failed");
    } else if (status === 409) {
      // Another account holds the address (told only once the code proved it is theirs).
      proof = null;
      go("email-change");
      showError(E.change, { ...data, field: "email" }, status, "Could not change the email");
    } else if ([400, 404, 410, 429].includes(status)) {
      // Over on the server: no pending code, expired, or the attempts used up.
      proof = null;
      go(current.start);
      const expired = status === 410 ? "Code expired. Ask for a new one." : "";
      say(expired || data.error || `Verification failed (HTTP ${status}).`, "error");
    } else {
      say("");
      fieldError(E.code, data.error || `Verification failed (HTTP ${status}).`);
      E.code.focus();
    }
  });

  E.back.addEventListener("click", () => {
    const start = proof ? proof.start : "signed-in";
    proof = null;
    go(start);
    say("");
  });

  window.PhoneVerifyEmail = { askToProve };
})();
