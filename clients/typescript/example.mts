/**
 * Log in (password, then the code from the SMS), then pay 250.00 USD, confirming with a code
 * when the API asks for one, then read the payment's verification back: the typed client
 * against `make run`.
 *
 *   make client-ts && npx tsc -p clients/typescript && node clients/typescript/dist/example.mjs
 *
 * Settings (environment): API_URL (default http://127.0.0.1:3000), EMAIL and PASSWORD (the
 * seeded demo account), EMULATOR_URL (local only, below). The last line it prints is one
 * JSON object: the payment's id, status, transaction id and verification status.
 */
import { randomUUID } from "node:crypto";

import {
  type ApiError,
  phoneVerifyClient,
  type PhoneVerifyClient,
  type Schemas,
} from "./client.mjs";

const API_URL = process.env["API_URL"] ?? "http://127.0.0.1:3000";
const EMAIL = process.env["EMAIL"] ?? "demo@example.com";
const PASSWORD = process.env["PASSWORD"] ?? "correct horse battery staple";

// ---- LOCAL ONLY -----------------------------------------------------------------------------
// Against `make run` no SMS leaves the machine: the Telnyx emulator keeps every code it "sent"
// and lists them on its dev-only API (docs/telnyx-emulator.md, GET /_emulator/messages, newest
// first). A real client asks the person to type the code from their phone instead.
const EMULATOR_URL = process.env["EMULATOR_URL"] ?? "http://127.0.0.1:4010";

interface EmulatorMessage {
  kind: string;
  phone_number: string;
  code?: string;
}

/** The newest code the emulator sent to a number that matches `phoneHint` (`+1******0123`). */
async function codeFromTheEmulator(phoneHint: string): Promise<string> {
  const first = phoneHint.indexOf("*");
  const [start, end] = [phoneHint.slice(0, first), phoneHint.slice(phoneHint.lastIndexOf("*") + 1)];
  const response = await fetch(`${EMULATOR_URL}/_emulator/messages?kind=code`);
  if (!response.ok) throw new Error(`the emulator answered ${response.status}`);
  const { data } = (await response.json()) as { data: EmulatorMessage[] };
  const sent = data.find((m) => m.phone_number.startsWith(start) && m.phone_number.endsWith(end));
  if (sent?.code === undefined) throw new Error(`no code sent to ${phoneHint}`);
  return sent.code;
}
// ---- end of LOCAL ONLY ----------------------------------------------------------------------

/** What a client does about an error: docs/api.md "Errors" (branch on `code`, never parse
 * `error`). A code this client does not know, added later, falls to the default. */
function advice(error: ApiError): string {
  switch (error.code) {
    case "invalid_credentials":
      return "wrong email or password";
    case "invalid_code":
      return `wrong code: ${error.attempts_remaining ?? 0} more tries`;
    case "verification_expired":
    case "too_many_attempts":
    case "no_pending_verification":
      return "this code can no longer be used: start again";
    case "unauthorized":
      return "the token was refused: sign in again";
    case "phone_required":
      return "this amount needs a code and the account has no phone: add one";
    case "payment_declined":
      return "the payment was declined: try another payment";
    case "login_throttled":
    case "account_locked":
    case "send_limit_reached":
      return `too many tries: wait ${error.retry_after ?? 60} s`;
    default:
      return error.error;
  }
}

/** Worth sending again, unchanged, after `retry_after` seconds. */
function transient(error: ApiError): boolean {
  switch (error.code) {
    case "rate_limited":
    case "service_unavailable":
    case "idempotency_key_in_use":
    case "check_in_progress":
      return true;
    default:
      return false;
  }
}

/** What every method of the client answers: `data` on a 2xx, else `error` (openapi-fetch). */
interface Answer {
  data?: unknown;
  error?: ApiError;
  response: Response;
}

/** The answer's body, after one retry of a transient error; any other error ends the run. */
async function call<A extends Answer>(
  step: string,
  request: () => Promise<A>,
): Promise<NonNullable<A["data"]>> {
  let answer = await request();
  if (answer.error !== undefined && transient(answer.error)) {
    const seconds = Math.min(answer.error.retry_after ?? 1, 10);
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    answer = await request();
  }
  if (answer.error !== undefined) {
    const { status } = answer.response;
    throw new Error(`${step}: ${status} ${answer.error.code}: ${advice(answer.error)}`);
  }
  if (answer.data === undefined || answer.data === null) throw new Error(`${step}: no body`);
  return answer.data as NonNullable<A["data"]>;
}

/** The bearer token: at once for an account without a phone, else after the SMS code. */
async function logIn(api: PhoneVerifyClient, email: string, password: string): Promise<string> {
  const login = await call("login", () => api.POST("/login", { body: { email, password } }));
  if (!("requires_2fa" in login)) return login.token;
  console.log(`login: a ${login.code_length}-digit code was sent to ${login.phone_hint}`);
  const code = await codeFromTheEmulator(login.phone_hint);
  const verified = await call("login/verify", () =>
    api.POST("/login/verify", { body: { flow_id: login.flow_id, code } }),
  );
  return verified.token;
}

async function main(): Promise<void> {
  const token = await logIn(phoneVerifyClient(API_URL), EMAIL, PASSWORD);
  const payer = phoneVerifyClient(API_URL, token);

  // One key per payment: a retry with the same key and body is answered, not paid twice.
  const idempotencyKey = randomUUID();
  const order = { amount: "250.00", currency: "USD", recipient: "acct_7731", description: "Rent" };
  const started = await call("payments/initiate", () =>
    payer.POST("/payments/initiate", {
      params: { header: { "Idempotency-Key": idempotencyKey } },
      body: order,
    }),
  );

  let paid: Schemas["PaymentCompletedResponse"];
  let verification: Schemas["StatusResponse"]["status"] | null = null;
  if (started.status === "completed") {
    paid = started; // under every step-up limit: no code asked
  } else {
    console.log(`payment: a code is needed (${started.reason}), sent to ${started.phone_hint}`);
    const code = await codeFromTheEmulator(started.phone_hint);
    paid = await call("payments/confirm", () =>
      payer.POST("/payments/confirm", { body: { payment_id: started.payment_id, code } }),
    );
    const status = await call("verify/status", () =>
      payer.GET("/verify/status", { params: { query: { payment_id: paid.payment_id } } }),
    );
    verification = status.status;
  }
  console.log(`payment: ${paid.status}, ${paid.amount} ${paid.currency}`);
  console.log(
    JSON.stringify({
      payment_id: paid.payment_id,
      status: paid.status,
      transaction_id: paid.transaction_id,
      verification,
    }),
  );
}

main().catch((reason: unknown) => {
  console.error(reason instanceof Error ? reason.message : reason);
  process.exitCode = 1;
});
