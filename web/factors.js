// Factors stronger than SMS (docs/web.md, docs/factors.md): the "Security" screen (passkeys, the
// authenticator app, the recovery codes shown once), and the second step that offers the
// strongest factor an account has, at sign-in, at the step-up and for a payment, with
// "Send me an SMS instead". Uses app.js's screens, `post`, `say`, `token`, `startCode`,
// `stepUp`, `signIn` and `showReceipt`; flow ids and reauth tokens live in memory only.
(() => {
  const F = {
    security: $("security"), passkeyList: $("passkey-list"), passkeyNone: $("passkey-none"),
    passkeyAdd: $("passkey-add"), totpState: $("totp-state"), totpAdd: $("totp-add"),
    totpRemove: $("totp-remove"),
    confirm: $("security-confirm"), confirmText: $("security-confirm-text"),
    totp: $("totp-enrol"), totpQr: $("totp-qr"), totpUri: $("totp-uri"), totpCode: $("totp-code"),
    recovery: $("recovery"), recoveryList: $("recovery-list"), recoveryCopy: $("recovery-copy"),
    recoveryDone: $("recovery-done"),
    factor: $("factor"), factorHint: $("factor-hint"), factorSummary: $("factor-summary"),
    factorPasskey: $("factor-passkey"), factorCodeField: $("factor-code-field"),
    factorCode: $("factor-code"), factorCodeLabel: $("factor-code-label"),
    factorCodeHelp: $("factor-code-help"), factorSubmit: $("factor-submit"),
    useTotp: $("factor-use-totp"), usePasskey: $("factor-use-passkey"), useSms: $("factor-sms"),
    useRecovery: $("factor-use-recovery"), factorCancel: $("factor-cancel"),
  };
  SCREENS.security = { node: F.security, title: "Security" };
  SCREENS["security-confirm"] = { node: F.confirm, title: "Confirm it is you" };
  SCREENS["totp-enrol"] = { node: F.totp, title: "Add an authenticator app" };
  SCREENS.recovery = { node: F.recovery, title: "Your recovery codes" };
  SCREENS.factor = { node: F.factor, title: "Confirm it is you" };

  const SIGNED_OUT = "Your session has ended. Please sign in again.";
  const AGAIN = "Please confirm it is you again.";
  const webauthn = window.PhoneVerifyWebAuthn;

  // -- the Security screen --------------------------------------------------------------
  let account = null;    // GET /account
  let passkeys = [];     // GET /account/passkeys
  let action = null;     // {text, run(reauthToken)}: what the step-up on screen is for
  let enrolment = null;  // {flowId, reauthToken}: the app being added

  async function getJson(path) {
    const response = await fetch(API_URL + path, {
      cache: "no-store", headers: { Authorization: `Bearer ${token}` },
    });
    return { status: response.status, data: response.ok ? await response.json() : {} };
  }

  // The account's passkeys (what a payment offers first) and factors, asked again after a change.
  async function refresh() {
    const [acct, keys] = await Promise.all([getJson("/account"), getJson("/account/passkeys")]);
    if (acct.status === 401 || keys.status === 401) throw new Error("signed out");
    account = acct.data;
    passkeys = Array.isArray(keys.data.passkeys) ? keys.data.passkeys : [];
  }

  const hasTotp = () => Boolean(account && (account.factors || []).includes("totp"));
  const shortDate = (secs) => new Date(secs * 1000).toLocaleString();

  function render() {
    F.passkeyList.replaceChildren();
    passkeys.forEach((key, index) => {
      const item = document.createElement("li");
      const name = `Passkey ${index + 1}`;
      const text = document.createElement("span");
      const used = key.last_used_at ? `, last used ${shortDate(key.last_used_at)}` : "";
      text.textContent = `${name}: added ${shortDate(key.created_at)}${used}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = `Remove ${name}`;
      remove.addEventListener("click", () => confirmThen(
        `To remove ${name}, enter your password.`,
        (reauthToken) => removePasskey(key.passkey_id, name, reauthToken),
      ));
      item.append(text, remove);
      F.passkeyList.append(item);
    });
    F.passkeyNone.hidden = passkeys.length > 0;
    F.passkeyAdd.hidden = !webauthn.supported();
    F.totpState.textContent = hasTotp()
      ? "An authenticator app gives your sign-in codes."
      : "No authenticator app yet.";
    F.totpAdd.hidden = hasTotp();
    F.totpRemove.hidden = !hasTotp();
  }

  async function openSecurity(message = "", kind = "info") {
    say("Loading…");
    try {
      await refresh();
    } catch (error) {
      if (error.message === "signed out") signedOut(SIGNED_OUT);
      else say("Could not load your security settings. Check your connection and try again.", "error");
      return;
    }
    render();
    go("security", el.title);
    say(message, message ? kind : "");
  }

  $("security-open").addEventListener("click", () => openSecurity());

  // Every change here needs the step-up first (app.js `stepUp`): the password, then the
  // account's strongest factor; the reauth token goes to the action.
  function confirmThen(text, run) {
    action = { text, run };
    F.confirmText.textContent = text;
    F.confirm.reset();
    go("security-confirm");
    say("");
  }

  onSubmit(F.confirm, "Checking your password…", "Could not confirm.", async () => {
    const current = action;
    if (!current) return;
    await stepUp(F.confirm, {
      back: "security-confirm", fallback: "Could not confirm it is you",
      again: "Too many attempts. Please start again.",
      then: (reauthToken) => current.run(reauthToken),
    });
  });

  // An answer every change shares: the step-up ended or the session did.
  function refused(status, data, fallback) {
    if (status === 401 && data.code === "reauth_required") {
      go("security-confirm");
      say(AGAIN, "error");
    } else if (status === 401) {
      signedOut(SIGNED_OUT);
    } else {
      openSecurity(data.error || `${fallback} (HTTP ${status}).`, "error");
    }
  }

  F.passkeyAdd.addEventListener("click", () => confirmThen(
    "To add a passkey, enter your password.", addPasskey,
  ));

  async function addPasskey(reauthToken) {
    const headers = { "Reauth-Token": reauthToken };
    say("Preparing your passkey…");
    const options = await post("/account/passkeys/options", {}, { auth: true, headers });
    if (options.status !== 200) return refused(options.status, options.data, "Could not add a passkey");
    say("Follow your browser's prompt to create the passkey.");
    let credential;
    try {
      credential = await webauthn.create(options.data);
    } catch (error) {
      return openSecurity(webauthn.failure(error, "No passkey was added"), "error");
    }
    const { status, data } = await post("/account/passkeys", { credential }, { auth: true, headers });
    if (status !== 201 && status !== 200) return refused(status, data, "Could not add the passkey");
    if (Array.isArray(data.recovery_codes)) return showRecovery(data.recovery_codes, "Passkey added.");
    return openSecurity("Passkey added. Use it to sign in and to confirm payments.");
  }

  async function removePasskey(passkeyId, name, reauthToken) {
    say("Removing…");
    const { status, data } = await post("/account/passkeys/remove", { passkey_id: passkeyId }, {
      auth: true, headers: { "Reauth-Token": reauthToken },
    });
    if (status !== 200) return refused(status, data, "Could not remove the passkey");
    return openSecurity(`${name} was removed. We told your phone.`);
  }

  // -- the authenticator app: its secret shown once (QR and URI), kept by its first code ---
  F.totpAdd.addEventListener("click", () => confirmThen(
    "To add an authenticator app, enter your password.", startTotp,
  ));
  F.totpRemove.addEventListener("click", () => confirmThen(
    "To remove the authenticator app (and its recovery codes), enter your password.",
    async (reauthToken) => {
      say("Removing…");
      const { status, data } = await post("/account/totp/remove", {}, {
        auth: true, headers: { "Reauth-Token": reauthToken },
      });
      if (status !== 200) return refused(status, data, "Could not remove the app");
      return openSecurity("The authenticator app was removed. We told your phone.");
    },
  ));

  async function startTotp(reauthToken) {
    say("Preparing…");
    const { status, data } = await post("/account/totp/start", {}, {
      auth: true, headers: { "Reauth-Token": reauthToken },
    });
    if (status !== 200 || !data.flow_id) return refused(status, data, "Could not add the app");
    enrolment = { flowId: data.flow_id };
    F.totpQr.replaceChildren(qrImage(data.qr_svg));
    F.totpUri.value = data.otpauth_uri;
    F.totp.querySelector("form").reset();
    go("totp-enrol", F.totpCode);
    say("");
  }

  // The server's SVG, as an image of this page (no markup of it runs: an <img> of a blob
  // URL draws it and nothing more; the CSP's img-src allows blob: for it).
  function qrImage(svg) {
    const image = document.createElement("img");
    image.alt = "QR code of the authenticator app's secret";
    image.width = 200;
    image.height = 200;
    image.src = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
    image.addEventListener("load", () => URL.revokeObjectURL(image.src), { once: true });
    return image;
  }

  F.totpCode.addEventListener("input", () => {
    const digits = F.totpCode.value.replace(/\D/g, "").slice(0, 6);
    if (digits !== F.totpCode.value) F.totpCode.value = digits;
  });

  onSubmit(F.totp.querySelector("form"), "Checking the code…", "Could not check the code.", async () => {
    const current = enrolment;
    if (!current) return;
    if (F.totpCode.value.length !== 6) {
      say("");
      fieldError(F.totpCode, "Enter the 6-digit code your app shows.");
      F.totpCode.focus();
      return;
    }
    const { status, data } = await post("/account/totp/verify", {
      flow_id: current.flowId, code: F.totpCode.value,
    }, { auth: true });
    if (status === 200) {
      enrolment = null;
      F.totpUri.value = "";
      F.totpQr.replaceChildren();
      showRecovery(data.recovery_codes || [], "Authenticator app added.");
    } else if (status === 401 && typeof data.attempts_remaining === "number") {
      const n = data.attempts_remaining;
      say("");
      F.totpCode.value = "";
      fieldError(F.totpCode, `Invalid code. ${n} ${n === 1 ? "attempt" : "attempts"} remaining.`);
      F.totpCode.focus();
    } else if (status === 401) {
      signedOut(SIGNED_OUT);
    } else {
      enrolment = null;
      openSecurity(data.error || `Could not add the app (HTTP ${status}).`, "error");
    }
  });

  $("totp-cancel").addEventListener("click", () => {
    enrolment = null;
    F.totpUri.value = "";
    openSecurity();
  });

  // -- recovery codes: shown this once, with a way to copy them ------------------------------
  let shownCodes = [];

  function showRecovery(codes, message) {
    shownCodes = codes;
    F.recoveryList.replaceChildren(...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }));
    go("recovery", el.title);
    say(`${message} Keep these recovery codes somewhere safe: each signs you in once if you lose your factor.`, "info");
  }

  F.recoveryCopy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(shownCodes.join("\n"));
      say("The recovery codes are copied.", "info");
    } catch {
      say("Could not copy: select the codes and copy them yourself.", "error");
    }
  });

  F.recoveryDone.addEventListener("click", () => {
    shownCodes = [];
    F.recoveryList.replaceChildren();
    openSecurity();
  });

  // -- the second step: the strongest factor first, SMS on request ----------------------------
  // `kind`: login, reauth or payment; `data`: the start's answer; what each calls:
  const STEPS = {
    login: {
      verify: "/login/verify", resend: "/login/resend", passkeyOptions: "/login/passkey/options",
      idField: "flow_id", auth: false, recovery: true, back: "signin",
      hint: "Your password is right. Confirm it is you",
    },
    reauth: {
      verify: "/account/reauth/verify", resend: "/account/reauth/resend",
      passkeyOptions: "/account/reauth/passkey/options", idField: "flow_id", auth: true,
      recovery: false, hint: "To confirm it is you",
    },
    payment: {
      verify: "/payments/confirm", passkeyOptions: "/payments/passkey/options",
      idField: "payment_id", auth: true, recovery: false, back: "signed-in",
      hint: "To authorise this payment, confirm it",
    },
  };
  const HOW = {
    passkey: "with your passkey",
    totp: "with the code your authenticator app shows",
    recovery: "with one of your recovery codes",
  };

  let step = null; // {kind, id, data, factors, payment, using, back}

  // Called by app.js where a second step begins; true when this module shows it (the account
  // has a factor stronger than SMS to offer), false to leave it to the SMS code screen.
  function secondStep(kind, data, context = {}) {
    let factors = Array.isArray(data.factors) ? data.factors.filter((f) => f !== "recovery") : ["sms"];
    if (kind === "payment") factors = passkeys.length && webauthn.supported() ? ["passkey", "sms"] : ["sms"];
    if (!webauthn.supported()) factors = factors.filter((f) => f !== "passkey");
    const first = factors[0];
    if (!first || first === "sms") return false;
    step = {
      kind, id: data[STEPS[kind].idField], data, factors, payment: context.payment || null,
      back: context.back || STEPS[kind].back,
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
        body = { ...id, factor: "passkey", credential };
      } else if (current.using === "recovery") {
        body = { ...id, recovery_code: value };
      } else {
        body = { ...id, code: value, factor: "totp" };
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
    } else if (status === 400 && ["code", "recovery_code"].includes(data.field)) {
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

  // The payment offers the passkey only when the account holds one: asked at sign-in.
  window.addEventListener("phoneverify:signed-in", () => {
    passkeys = [];
    refresh().catch(() => {});
  });

  window.PhoneVerifyFactors = { secondStep };
})();
