import type { Config } from "../config/config.ts";
import type { Logger } from "../lib/logger.ts";
import { createLogMailer } from "../mail/log-mailer.ts";
import type { Mailer } from "../mail/mailer.ts";
import { createResendMailer } from "../mail/resend-mailer.ts";

/** resend when RESEND_API_KEY is set; otherwise (development only) the log. */
export function buildMailer(config: Config, logger: Logger): Mailer {
  if (config.email.resendApiKey) {
    return createResendMailer({
      apiKey: config.email.resendApiKey,
      baseUrl: config.email.resendBaseUrl,
      from: config.email.from,
    });
  }
  logger.warn("RESEND_API_KEY is not set: emails are written to the log, not sent");
  return createLogMailer(logger);
}
