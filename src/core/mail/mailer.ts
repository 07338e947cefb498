/**
 * The mail port: services and jobs send through this, never through a provider's SDK.
 * Implementations: resend (resend-mailer.ts) and the development log (log-mailer.ts).
 */
export interface Email {
  to: string;
  subject: string;
  html: string;
  text: string;
  /** Repeated sends with one key are delivered once (provider-side de-duplication). */
  idempotencyKey: string;
}

export interface Mailer {
  /** "resend" or "log": said at start-up. */
  readonly kind: string;
  /** Resolves once the provider accepted the email; rejects with a MailerError. */
  send(email: Email): Promise<{ id: string }>;
}

/**
 * A send that failed. `permanent` failures (the provider refused the request itself: 4xx other
 * than 429) will fail again however often they are retried; the rest (5xx, 429, network) may
 * succeed later.
 */
export class MailerError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = "MailerError";
  }
}
