import { Resend } from "resend";
import { type Email, type Mailer, MailerError } from "./mailer.ts";

export interface ResendMailerOptions {
  apiKey: string;
  /** The API's base URL (RESEND_BASE_URL); tests point it at a local capture server. */
  baseUrl: string;
  from: string;
  /** An attempt the provider has not answered within this many ms is abandoned (retried). */
  timeoutMs?: number;
}

/** How long a send may take before it counts as a (transient) failure. */
const SEND_TIMEOUT_MS = 30_000;
/** How much of the provider's own error message goes into ours (and so into the log). */
const MAX_PROVIDER_MESSAGE = 300;

/**
 * The provider's error message as it may be logged: what a provider says is not trusted, so
 * it is cut short (a huge body never becomes a huge log line) and the API key is blanked out
 * wherever it appears (a proxy or provider that echoes the request's Authorization header).
 */
function providerMessage(message: unknown, apiKey: string): string {
  const text = typeof message === "string" && message ? message : "no reply";
  const short =
    text.length > MAX_PROVIDER_MESSAGE ? `${text.slice(0, MAX_PROVIDER_MESSAGE)}…` : text;
  return apiKey ? short.replaceAll(apiKey, "[redacted]") : short;
}

/** Sends through resend's API with its SDK; the idempotency key rides along. */
export function createResendMailer(options: ResendMailerOptions): Mailer {
  const resend = new Resend(options.apiKey, { baseUrl: options.baseUrl });
  return {
    kind: "resend",
    async send(email: Email) {
      const { data, error } = await resend.emails.send(
        {
          from: options.from,
          to: [email.to],
          subject: email.subject,
          html: email.html,
          text: email.text,
        },
        {
          idempotencyKey: email.idempotencyKey,
          signal: AbortSignal.timeout(options.timeoutMs ?? SEND_TIMEOUT_MS),
        },
      );
      if (error || !data) {
        const status = typeof error?.statusCode === "number" ? error.statusCode : null;
        // 4xx is the request's own fault, except 429 (rate or quota) and resend's 409
        // `concurrent_idempotent_requests` (the same key still in progress: "try again later").
        const permanent =
          status !== null &&
          status >= 400 &&
          status < 500 &&
          status !== 429 &&
          error?.name !== "concurrent_idempotent_requests";
        throw new MailerError(
          `resend refused the email${status ? ` (HTTP ${status})` : ""}: ${providerMessage(error?.message, options.apiKey)}`,
          permanent,
          status,
        );
      }
      // A 2xx that is not resend's `{ "id": "..." }` confirms nothing: retry (the idempotency
      // key makes that safe) rather than count an email as sent that may never have been.
      const id: unknown = (data as { id?: unknown } | null)?.id;
      if (typeof id !== "string" || id === "") {
        throw new MailerError("resend answered 2xx without an email id", false, null);
      }
      return { id };
    },
  };
}
