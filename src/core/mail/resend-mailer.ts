import { Resend } from "resend";
import { type Email, type Mailer, MailerError } from "./mailer.ts";

export interface ResendMailerOptions {
  apiKey: string;
  /** The API's base URL (RESEND_BASE_URL); tests point it at a local capture server. */
  baseUrl: string;
  from: string;
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
        { idempotencyKey: email.idempotencyKey },
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
          `resend refused the email${status ? ` (HTTP ${status})` : ""}: ${error?.message ?? "no reply"}`,
          permanent,
          status,
        );
      }
      return { id: data.id };
    },
  };
}
