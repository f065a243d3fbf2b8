// The proof-of-work gate's solver (docs/web.md): a challenge of GET /challenge (ALTCHA's format,
// as the server's `altcha` library issues it) solved with WebCrypto, for the `altcha` field of a
// sign-up or a password reset. Find the number n from 0 to `maxnumber` whose SHA-256 of
// salt + n (n in decimal) is `challenge` (hex); send base64 of the JSON
// {algorithm, challenge, number, salt, signature}. No network, nothing stored.
"use strict";

(function () {
  // Hashes asked of WebCrypto at once: its digests run off the page's thread, so the page stays
  // responsive between batches, and a batch amortises the cost of awaiting each one.
  const BATCH = 1000;
  const encoder = new TextEncoder();

  function bytesOfHex(hex) {
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.substr(i * 2, 2), 16);
    return bytes;
  }

  function same(buffer, wanted) {
    const got = new Uint8Array(buffer);
    for (let i = 0; i < wanted.length; i += 1) if (got[i] !== wanted[i]) return false;
    return true;
  }

  // base64 of the JSON (ASCII: hex, digits and the salt's "?expires=...&").
  function payloadOf(issued, number) {
    const json = JSON.stringify({
      algorithm: issued.algorithm,
      challenge: issued.challenge,
      number,
      salt: issued.salt,
      signature: issued.signature,
    });
    let binary = "";
    for (const byte of encoder.encode(json)) binary += String.fromCharCode(byte);
    return btoa(binary);
  }

  // The `altcha` payload for `issued` (GET /challenge's JSON); rejects a challenge it cannot
  // solve (another algorithm, a malformed one, no WebCrypto), so the caller sends none.
  async function solve(issued) {
    const max = Number(issued && (issued.maxnumber ?? issued.maxNumber));
    if (
      !issued || issued.algorithm !== "SHA-256" || typeof issued.salt !== "string" ||
      typeof issued.signature !== "string" || !/^[0-9a-f]{64}$/.test(String(issued.challenge)) ||
      !Number.isSafeInteger(max) || max < 0 || !(window.crypto && crypto.subtle)
    ) {
      throw new Error("This challenge cannot be solved here");
    }
    const wanted = bytesOfHex(issued.challenge);
    for (let start = 0; start <= max; start += BATCH) {
      const numbers = [];
      for (let n = start; n <= Math.min(max, start + BATCH - 1); n += 1) numbers.push(n);
      const digests = await Promise.all(
        numbers.map((n) => crypto.subtle.digest("SHA-256", encoder.encode(issued.salt + n))),
      );
      const found = digests.findIndex((digest) => same(digest, wanted));
      if (found >= 0) return payloadOf(issued, numbers[found]);
    }
    throw new Error("No number up to maxnumber solves this challenge");
  }

  window.PhoneVerifyAltcha = { solve };
})();
