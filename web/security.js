// The "Security" screen (docs/web.md, docs/factors.md): passkeys and the authenticator app
// added and removed behind the step-up, the recovery codes shown once. Uses app.js's screens,
// `post`, `say`, `token` and `stepUp`; reauth tokens live in memory only. The second step that
// offers these factors is second-step.js, which asks here whether the account holds a passkey.
(() => {
  const F = {
    security: $("security"), passkeyList: $("passkey-list"), passkeyNone: $("passkey-none"),
    passkeyAdd: $("passkey-add"), totpState: $("totp-state"), totpAdd: $("totp-add"),
    totpRemove: $("totp-remove"),
    confirm: $("security-confirm"), confirmText: $("security-confirm-text"),
    totp: $("totp-enrol"), totpQr: $("totp-qr"), totpUri: $("totp-uri"), totpCode: $("totp-code"),
    recovery: $("recovery"), recoveryList: $("recovery-list"), recoveryCopy: $("recovery-copy"),
    recoveryDone: $("recovery-done"),
  };
  SCREENS.security = { node: F.security, title: "Security" };
  SCREENS["security-confirm"] = { node: F.confirm, title: "Confirm it is you" };
  SCREENS["totp-enrol"] = { node: F.totp, title: "Add an authenticator app" };
  SCREENS.recovery = { node: F.recovery, title: "Your recovery codes" };

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

  // The account's passkeys (this screen's list) and factors (what a payment offers first),
  // asked again after a change.
  async function refresh() {
    const [acct, keys] = await Promise.all([getJson("/account"), getJson("/account/passkeys")]);
    if (acct.status === 401 || keys.status === 401) throw new Error("signed out");
    account = acct.data;
    passkeys = Array.isArray(keys.data.passkeys) ? keys.data.passkeys : [];
  }

  const holds = (factor) => Boolean(account && (account.factors || []).includes(factor));
  const hasTotp = () => holds("totp");
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
  // The payment offers the passkey only when the account holds one: its factors, from the
  // GET /account that app.js made at sign-in (none asked again here).
  window.addEventListener("phoneverify:signed-in", (event) => {
    account = event.detail?.account ?? null;
    passkeys = [];
  });

  window.PhoneVerifySecurity = { hasPasskeys: () => holds("passkey") };
})();
