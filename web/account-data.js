// The person's own data (docs/privacy.md): "Download my data" and "Delete account" on the
// signed-in screen, each after the step-up (app.js `stepUp`: the password, then a code to the
// phone when the account has one). Uses app.js's screens, `post`, `say`, `token`, `stepUp`,
// `onSubmit`, `showError` and `signedOut`; the reauth token lives in memory only.
(() => {
  const D = {
    exportForm: $("data-export"), deleteForm: $("account-delete"),
    confirm: $("account-delete-confirm"), link: $("data-export-link"),
  };
  SCREENS["data-export"] = { node: D.exportForm, title: "Download my data" };
  SCREENS["account-delete"] = { node: D.deleteForm, title: "Delete account" };
  const SIGNED_OUT = "Your session has ended. Please sign in again.";
  let downloadUrl = null;

  onSubmit(D.exportForm, "Checking your password…", "Could not download your data.", async () => {
    await stepUp(D.exportForm, {
      back: "data-export", fallback: "Could not download your data",
      again: "Too many attempts. Please ask for your data again.",
      then: (reauthToken) => download(reauthToken),
    });
  });

  async function download(reauthToken) {
    say("Gathering your data…");
    const response = await fetch(API_URL + "/account/export", {
      cache: "no-store",
      headers: { Authorization: `Bearer ${token}`, "Reauth-Token": reauthToken },
    });
    let data = {};
    try {
      data = await response.json();
    } catch {
      data = {};
    }
    go("data-export");
    if (response.ok) {
      if (downloadUrl) URL.revokeObjectURL(downloadUrl);
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      downloadUrl = URL.createObjectURL(blob);
      D.link.href = downloadUrl;
      D.link.hidden = false;
      D.link.click();
      say("Your data was downloaded as my-data.json.", "info");
    } else if (response.status === 401 && data.code === "reauth_required") {
      say("Please confirm it is you again.", "error");
    } else if (response.status === 401) {
      signedOut(SIGNED_OUT);
    } else {
      showError(D.exportForm, data, response.status, "Could not download your data");
    }
  }

  onSubmit(D.deleteForm, "Checking your password…", "Could not delete the account.", async () => {
    if (!D.confirm.checked) {
      say("");
      fieldError(D.confirm, "Tick the box to confirm that the account is to be deleted.");
      D.confirm.focus();
      return;
    }
    await stepUp(D.deleteForm, {
      back: "account-delete", fallback: "Could not delete the account",
      again: "Too many attempts. Please start the deletion again.",
      then: (reauthToken) => deleteAccount(reauthToken),
    });
  });

  async function deleteAccount(reauthToken) {
    say("Deleting your account…");
    const { status, data } = await post("/account/delete", {}, {
      auth: true, headers: { "Reauth-Token": reauthToken },
    });
    if (status === 200 && data.deleted) {
      D.deleteForm.reset();
      D.exportForm.reset();
      signedOut("Your account was deleted. Its email and phone number are free again.");
    } else if (status === 401 && data.code === "reauth_required") {
      go("account-delete");
      say("Please confirm it is you again.", "error");
    } else if (status === 401) {
      signedOut(SIGNED_OUT);
    } else {
      go("account-delete");
      showError(D.deleteForm, data, status, "Could not delete the account");
    }
  }
})();
