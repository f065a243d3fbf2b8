// WebAuthn between the API's JSON (base64url members, as the server's `webauthn` library
// writes options and reads credentials) and navigator.credentials' ArrayBuffers, by hand:
// no library, no build step. The browser's own PublicKeyCredential.parse…FromJSON and
// toJSON() are used where present; the hand-made conversion is the same.
"use strict";
window.PhoneVerifyWebAuthn = (() => {
  const toB64url = (buffer) => {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const fromB64url = (text) => {
    const plain = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4));
    return Uint8Array.from(plain, (c) => c.charCodeAt(0)).buffer;
  };
  const descriptors = (list) => (list || []).map((d) => ({ ...d, id: fromB64url(d.id) }));

  function creationOptions(json) {
    const PKC = window.PublicKeyCredential;
    if (PKC && typeof PKC.parseCreationOptionsFromJSON === "function") return PKC.parseCreationOptionsFromJSON(json);
    return {
      ...json,
      challenge: fromB64url(json.challenge),
      user: { ...json.user, id: fromB64url(json.user.id) },
      excludeCredentials: descriptors(json.excludeCredentials),
    };
  }

  function requestOptions(json) {
    const PKC = window.PublicKeyCredential;
    if (PKC && typeof PKC.parseRequestOptionsFromJSON === "function") return PKC.parseRequestOptionsFromJSON(json);
    return { ...json, challenge: fromB64url(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
  }

  function credentialJson(credential) {
    const { response } = credential;
    const json = {
      id: credential.id, rawId: toB64url(credential.rawId), type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults?.() || {},
      authenticatorAttachment: credential.authenticatorAttachment ?? null,
      response: { clientDataJSON: toB64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toB64url(response.attestationObject);
      json.response.transports = response.getTransports?.() || [];
    } else {
      json.response.authenticatorData = toB64url(response.authenticatorData);
      json.response.signature = toB64url(response.signature);
      json.response.userHandle = response.userHandle ? toB64url(response.userHandle) : null;
    }
    return json;
  }

  return {
    supported: () => Boolean(window.PublicKeyCredential && navigator.credentials),
    // Creation options (POST /account/passkeys/options) → the new credential, as JSON.
    async create(options) {
      const made = await navigator.credentials.create({ publicKey: creationOptions(options) });
      return credentialJson(made);
    },
    // Request options (a login's, a step-up's or a payment's) → the assertion, as JSON.
    async get(options) {
      const made = await navigator.credentials.get({ publicKey: requestOptions(options) });
      return credentialJson(made);
    },
    // What to say when the browser's prompt ends without a credential.
    failure(error, what) {
      if (error && error.name === "NotAllowedError") return `${what}: the prompt was closed or timed out. Try again.`;
      if (error && error.name === "InvalidStateError") return `${what}: this device already holds a passkey of your account.`;
      return `${what}: your browser could not use a passkey here.`;
    },
  };
})();
