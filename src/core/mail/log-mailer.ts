import type { Logger } from "../lib/logger.ts";
import type { Email, Mailer } from "./mailer.ts";

/**
 * Development without RESEND_API_KEY: every email is written to the log, links included, so
 * the whole flow works locally. Production refuses to start with this mailer.
 */
export function createLogMailer(logger: Logger): Mailer {
  let sent = 0;
  return {
    kind: "log",
    async send(email: Email) {
      sent += 1;
      logger.info(`email (not sent: RESEND_API_KEY is unset) to ${email.to}: ${email.subject}`, {
        to: email.to,
        subject: email.subject,
        text: email.text,
      });
      return { id: `logged-${sent}` };
    },
  };
}
