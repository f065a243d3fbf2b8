// The second step that offers the strongest factor an account has (docs/web.md,
// docs/factors.md): a passkey, the authenticator app's code or a recovery code, at sign-in, at
// the step-up and for a payment, with "Send me an SMS instead". Uses app.js's screens, `post`,
// `say`, `startCode`, `stepUpFor`, `signIn` and `showReceipt`, and security.js for whether
// the account holds a passkey; flow ids live in memory only.
(() => {
  const F = {
    factor: $("factor"), factorHint: $("factor-hint"), factorSummary: $("factor-summary"),
    factorPasskey: $("factor-passkey"), factorCodeField: $("factor-code-field"),
    factorCode: $("factor-code"), factorCodeLabel: $("factor-code-label"),
    factorCodeHelp: $("factor-code-help"), factorSubmit: $("factor-submit"),
    useTotp: $("factor-use-totp"), usePasskey: $("factor-use-passkey"), useSms: $("factor-sms"),
    useRecovery: $("factor-use-recovery"), factorCancel: $("factor-cancel"),
  };
  SCREENS.factor = { node: F.factor, title: "Confirm it is you" };

  const SIGNED_OUT = "Your session has ended. Please sign in again.";
  const webauthn = window.PhoneVerifyWebAuthn;
  const hasPasskeys = () => Boolean(window.PhoneVerifySecurity?.hasPasskeys());


  // -- the second step: the strongest factor first, SMS on request ----------------------------
  // `kind`: login, reauth, payment or reset; `data`: the start's answer (a reset's: its
  // factor_required); what each calls. `body`: the verify's fields beside the flow's id for
  // an app's code, a recovery code or a passkey's assertion.
  const asFactor = {
    totp: (code) => ({ code, factor: "totp" }),
    recovery: (code) => ({ recovery_code: code }),
    passkey: (credential) => ({ factor: "passkey", credential }),
  };
  const STEPS = {
    login: {
      verify: "/login/verify", resend: "/login/resend", passkeyOptions: "/login/passkey/options",
      idField: "flow_id", auth: false, recovery: true, back: "signin",
      hint: "Your password is right. Confirm it is you", body: asFactor,
    },
    reauth: {
      verify: "/account/reauth/verify", resend: "/account/reauth/resend",
      passkeyOptions: "/account/reauth/passkey/options", idField: "flow_id", auth: true,
      recovery: false, hint: "To confirm it is you", body: asFactor,
    },
    payment: {
      verify: "/payments/confirm", passkeyOptions: "/payments/passkey/options",
      idField: "payment_id", auth: true, recovery: false, back: "signed-in",
      hint: "To authorise this payment, confirm it", body: asFactor,
    },
    // A password reset whose SMS code was right, of an account with a stronger factor: an SMS
    // alone never replaces it. The same code and new password go again with the factor.
    reset: {
      verify: "/password/reset/verify", passkeyOptions: "/password/reset/passkey/options",
      idField: "flow_id", auth: false, recovery: true, back: "reset",
      hint: "Your code is right. This account also has a stronger factor: confirm it is you",
      body: {
        totp: (code) => ({ totp_code: code }),
        recovery: (code) => ({ recovery_code: code }),
        passkey: (credential) => ({ credential }),
      },
    },
  };
  const HOW = {
    passkey: "with your passkey",
    totp: "with the code your authenticator app shows",
    recovery: "with one of your recovery codes",
  };

  let step = null; // {kind, id, data, factors, payment, carry, using, back}

  // Called by app.js where a second step begins; true when this module shows it (the account
  // has a factor stronger than SMS to offer), false to leave it to the SMS code screen.
  // `context.carry`: fields every answer sends again (a reset's SMS code and new password).
  function secondStep(kind, data, context = {}) {
    let factors = Array.isArray(data.factors) ? data.factors.filter((f) => f !== "recovery") : ["sms"];
    if (kind === "payment") factors = hasPasskeys() && webauthn.supported() ? ["passkey", "sms"] : ["sms"];
    if (!webauthn.supported()) factors = factors.filter((f) => f !== "passkey");
    // A reset asks for a stronger factor only: a recovery code where the browser has no passkeys.
    const first = factors[0] || (kind === "reset" ? "recovery" : null);
    if (!first || first === "sms") return false;
    step = {
      kind, id: data[STEPS[kind].idField], data, factors, payment: context.payment || null,
      carry: context.carry || {}, back: context.back || STEPS[kind].back,
    };
    use(first);
    return true;
  }

  function use(factor) {
    const current = step;
    const config = STEPS[current.kind];
    current.using = factor;
    const typed = factor !== "passkey";
    F.factorHint.textContent = `${config.hint} ${HOW[factor]}.`;
    F.factorSummary.hidden = !current.payment;
    if (current.payment) {
      $("factor-amount").textContent = current.payment.amount;
      $("factor-currency").textContent = current.payment.currency;
      $("factor-recipient").textContent = current.payment.recipient;
      showDescription($("factor-description-row"), $("factor-description"), current.payment.description);
    }
    F.factorPasskey.hidden = typed;
    F.factorCodeField.hidden = !typed;
    F.factorCode.value = "";
    F.factorCodeLabel.textContent = factor === "recovery" ? "Recovery code" : "Code from your app";
    F.factorCode.inputMode = factor === "recovery" ? "text" : "numeric";
    F.factorCode.maxLength = factor === "recovery" ? 24 : 6;
    F.factorCode.autocomplete = factor === "recovery" ? "off" : "one-time-code";
    F.factorCodeHelp.textContent = factor === "recovery"
      ? "Ten characters, as xxxxx-xxxxx. Each works once." : "Six digits; a new one every 30 seconds.";
    F.useTotp.hidden = factor === "totp" || !current.factors.includes("totp");
    F.usePasskey.hidden = factor === "passkey" || !current.factors.includes("passkey");
    F.useSms.hidden = !current.factors.includes("sms");
    F.useRecovery.hidden = factor === "recovery" || !config.recovery;
    F.factorCancel.textContent = current.kind === "payment" ? "Cancel payment" : "Cancel";
    go("factor", typed ? F.factorCode : F.factorPasskey);
    say("");
  }

  F.useTotp.addEventListener("click", () => step && use("totp"));
  F.usePasskey.addEventListener("click", () => step && use("passkey"));
  F.useRecovery.addEventListener("click", () => step && use("recovery"));

  // "Send me an SMS instead": a login or step-up sends its first code now (no cooldown); a
  // payment's code was sent when it began. Then the SMS code screen, as for any account.
  F.useSms.addEventListener("click", async () => {
    const current = step;
    if (!current || F.useSms.disabled) return;
    if (current.kind === "payment") {
      step = null;
      startCode("payment", current.id, current.data, current.payment);
      return;
    }
    F.useSms.disabled = true;
    say("Sending a code…");
    try {
      const config = STEPS[current.kind];
      const { status, data } = await post(config.resend, { flow_id: current.id }, { auth: config.auth });
      if (step !== current) return;
      if (status === 200) {
        step = null;
        startCode(current.kind, current.id, { ...current.data, ...data }, null,
          current.kind === "reauth" ? { back: current.back, again: stepUpFor?.again } : {});
      } else if (status === 429) {
        waitFor(data.retry_after, "Too many codes asked for.");
      } else {
        say(data.error || `Could not send the code (HTTP ${status}).`, "error");
      }
    } catch {
      say("Could not send the code. Check your connection and try again.", "error");
    } finally {
      F.useSms.disabled = false;
    }
  });

  F.factorCancel.addEventListener("click", () => {
    const current = step;
    step = null;
    if (current && current.kind === "payment") {
      // The payment's SMS code was sent when it began: cancel it, as the code screen does.
      post("/verify/cancel", { payment_id: current.id }, { auth: true }).catch(() => {});
    } else if (current && current.kind === "reset") {
      // Its SMS code was right: the flow is not left open for another try with it.
      post("/verify/cancel", { flow_id: current.id }).catch(() => {});
    }
    go(current?.back || "signin");
    say("");
  });

  F.factorPasskey.addEventListener("click", () => answer(null));
  F.factor.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = F.factorCode.value.trim();
    const recovery = step?.using === "recovery";
    if (!recovery && !/^\d{6}$/.test(value)) {
      fieldError(F.factorCode, "Enter the 6-digit code your app shows.");
      F.factorCode.focus();
    } else if (recovery && value.replace(/[\s-]/g, "").length !== 10) {
      fieldError(F.factorCode, "Enter a recovery code, as xxxxx-xxxxx.");
      F.factorCode.focus();
    } else {
      answer(value);
    }
  });
  F.factorCode.addEventListener("input", () => {
    if (step?.using !== "totp") return;
    const digits = F.factorCode.value.replace(/\D/g, "").slice(0, 6);
    if (digits !== F.factorCode.value) F.factorCode.value = digits;
    if (digits.length === 6) F.factor.requestSubmit();
  });

  let answering = false;

  // The factor's answer: a passkey's assertion over fresh options, or the typed code.
  async function answer(value) {
    const current = step;
    if (!current || answering) return;
    const config = STEPS[current.kind];
    const id = { [config.idField]: current.id };
    answering = true;
    F.factorPasskey.disabled = true;
    F.factorSubmit.disabled = true;
    clearErrors(F.factor);
    try {
      let body;
      if (current.using === "passkey") {
        say("Follow your browser's prompt to use your passkey.");
        const options = await post(config.passkeyOptions, id, { auth: config.auth });
        if (step !== current) return;
        if (options.status !== 200) return failed(current, options.status, options.data);
        let credential;
        try {
          credential = await webauthn.get(options.data);
        } catch (error) {
          say(webauthn.failure(error, "The passkey was not used"), "error");
          return;
        }
        body = { ...id, ...current.carry, ...config.body.passkey(credential) };
      } else {
        body = { ...id, ...current.carry, ...config.body[current.using](value) };
      }
      say("Verifying…");
      const { status, data } = await post(config.verify, body, { auth: config.auth });
      if (step !== current) return;
      if (status === 200 || status === 201) done(current, data);
      else failed(current, status, data);
    } catch {
      say("Could not verify. Check your connection and try again.", "error");
    } finally {
      answering = false;
      F.factorPasskey.disabled = false;
      F.factorSubmit.disabled = false;
    }
  }

  function done(current, data) {
    step = null;
    say("");
    if (current.kind === "login") {
      signIn(data.token).catch(() => go("signed-in", el.title));
    } else if (current.kind === "reset") {
      passwordWasReset();
    } else if (current.kind === "reauth") {
      const change = stepUpFor;
      stepUpFor = null;
      change.then(data.reauth_token).catch(() => {
        go(change.back);
        say("Could not continue. Check your connection and try again.", "error");
      });
    } else {
      showReceipt(current.payment, data);
    }
  }

  function failed(current, status, data) {
    const left = typeof data.attempts_remaining === "number" ? data.attempts_remaining : null;
    if (status === 401 && current.using === "passkey" && (left !== null || data.code === "passkey_rejected")) {
      // A refused assertion (at sign-in it counts as a wrong code: an attempt used).
      const sms = current.factors.includes("sms") ? ", or send yourself an SMS instead" : "";
      const attempts = left === null ? "" : ` ${left} ${left === 1 ? "attempt" : "attempts"} remaining.`;
      say(`Your passkey's answer was not accepted. Try again${sms}.${attempts}`, "error");
      F.factorPasskey.focus();
    } else if (status === 401 && left !== null) {
      F.factorCode.value = "";
      fieldError(F.factorCode, `Invalid code. ${left} ${left === 1 ? "attempt" : "attempts"} remaining.`);
      F.factorCode.focus();
      say("");
    } else if (status === 401 && STEPS[current.kind].auth) {
      step = null;
      signedOut(SIGNED_OUT);
    } else if (status === 400 && ["code", "totp_code", "recovery_code"].includes(data.field)) {
      fieldError(F.factorCode, data.error || "Check the code.");
      F.factorCode.focus();
      say("");
    } else {
      // Over on the server: attempts used up, no pending flow, an expired payment.
      step = null;
      go(current.back || "signin");
      say(data.error || `Could not verify (HTTP ${status}).`, "error");
    }
  }
  window.PhoneVerifyFactors = { secondStep };
})();
