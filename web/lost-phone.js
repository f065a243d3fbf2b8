// "I no longer have this phone" (docs/phone-lifecycle.md#a-lost-phone): the reset screen's way
// back for an owner without the phone. The email's code, then the new number's, then a wait
// before the new number binds; after it, a new password. Signed in, the owner sees a change
// waiting on the account and may cancel it. Uses app.js's screens, `post`, `say` and `token`.
(() => {
  const L = {
    start: $("lost"), email: $("lost-email"), phone: $("lost-new-phone"),
    codeForm: $("lost-code"), code: $("lost-code-input"), hint: $("lost-code-hint"),
    waiting: $("lost-waiting"), waitingText: $("lost-waiting-text"),
    complete: $("lost-complete"), newPassword: $("lost-new-password"),
    swap: $("swap-pending"), swapText: $("swap-pending-text"), swapCancel: $("swap-cancel"),
  };
  SCREENS.lost = { node: L.start, title: "I no longer have this phone" };
  SCREENS["lost-code"] = { node: L.codeForm, title: "Enter your code" };
  SCREENS["lost-waiting"] = { node: L.waiting, title: "Your new number is waiting" };

  let step = null; // {flowId, stage: "email" | "phone"}: in memory only

  const when = (epochSecs) => new Date(epochSecs * 1000).toLocaleString();

  function askCode(flowId, stage, hint) {
    step = { flowId, stage };
    L.code.value = "";
    L.hint.textContent = stage === "email"
      ? `We emailed a code to ${hint}. Enter it to prove the email is yours.`
      : `We texted a code to your new number ${hint}. Enter it to prove the number is yours.`;
    go("lost-code", L.code);
  }

  function waitingFor(data) {
    L.waitingText.textContent =
      `Your new number ${data.new_phone_hint} replaces the old one on ${when(data.binds_at)}. ` +
      "We told your old number and your email: if it was not you, cancel it from any " +
      "signed-in session. Come back then and choose a new password to finish.";
    L.newPassword.value = "";
    go("lost-waiting", L.title);
  }

  onSubmit(L.start, "Sending a code…", "Could not send the code.", async () => {
    const values = valuesOf(L.start);
    const { status, data } = await post("/password/reset/lost-phone/start", {
      email: values.email.trim(), new_phone: values.new_phone.replace(/[\s().-]/g, ""),
    });
    if (status === 200 && data.flow_id) askCode(data.flow_id, "email", data.email_hint);
    else if (status === 429) waitFor(data.retry_after, "Too many codes asked for.");
    else showError(L.start, data, status, "Could not send the code");
  });

  onSubmit(L.codeForm, "Checking the code…", "Could not check the code.", async () => {
    const path = step.stage === "email"
      ? "/password/reset/lost-phone/verify" : "/password/reset/lost-phone/confirm-phone";
    const { status, data } = await post(path, { flow_id: step.flowId, code: L.code.value.trim() });
    if (status === 200 && step.stage === "email") {
      askCode(data.flow_id, "phone", data.phone_hint);
      say("");
    } else if (status === 200) {
      waitingFor(data);
      say("");
    } else if (status === 401) {
      say("");
      fieldError(L.code, `Wrong code. ${data.attempts_remaining ?? 0} attempts left.`);
      L.code.focus();
    } else if (status === 429) {
      waitFor(data.retry_after, data.error || "Too many attempts.");
    } else {
      showError(L.codeForm, data, status, "The code could not be checked");
    }
  });

  onSubmit(L.complete, "Finishing…", "Could not finish.", async () => {
    const body = { flow_id: step.flowId, new_password: L.newPassword.value };
    const { status, data } = await post("/password/reset/lost-phone/complete", body);
    if (status === 200) {
      step = null;
      go("signin");
      say("Your phone number and password were changed. Sign in with them.", "info");
    } else if (status === 409 && data.code === "lost_phone_waiting") {
      const at = Math.floor(Date.now() / 1000) + Number(data.retry_after || 0);
      say(`Not yet: the new number binds on ${when(at)}.`, "error");
    } else {
      showError(L.complete, data, status, "Could not finish");
    }
  });

  // Signed in: a change waiting on the account, and its cancel (a session is enough).
  async function showPendingSwap() {
    L.swap.hidden = true;
    try {
      const response = await fetch(API_URL + "/account/phone/pending", {
        headers: { Authorization: `Bearer ${token}` },
      });
      const data = await response.json();
      if (response.ok && data.status === "pending") {
        L.swapText.textContent =
          `A new number ${data.new_phone_hint} is waiting to replace yours on ` +
          `${when(data.binds_at)}. If you did not ask for it, cancel it now.`;
        L.swap.hidden = false;
      }
    } catch {
      // The page works without it; the notices told the owner too.
    }
  }

  window.addEventListener("phoneverify:signed-in", showPendingSwap);

  L.swapCancel.addEventListener("click", async () => {
    L.swapCancel.disabled = true;
    try {
      const { status, data } = await post("/account/phone/pending/cancel", {}, { auth: true });
      if (status === 200) {
        L.swap.hidden = true;
        say("The phone number change was cancelled. Your number stays as it was.", "info");
      } else {
        say(data.error || `Could not cancel (HTTP ${status}).`, "error");
      }
    } catch {
      say("Could not cancel. Check your connection and try again.", "error");
    } finally {
      L.swapCancel.disabled = false;
    }
  });
})();
