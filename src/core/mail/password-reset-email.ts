import { type LinkEmailInput, linkEmail } from "./link-email.ts";
import type { Email } from "./mailer.ts";

/** The email that carries a password reset link (POST /users/password_reset). */
export function passwordResetEmail(input: LinkEmailInput): Email {
  return linkEmail(input, {
    subject: "Reset your Simple Bank password",
    intro: "Someone asked to reset the password of your Simple Bank account.",
    action: (anchor) =>
      `To choose a new password, ${anchor}. The link works once, within 15 minutes; setting a new password signs you out everywhere.`,
    actionText:
      "To choose a new password, open this link (it works once, within 15 minutes; setting a new password signs you out everywhere):",
    outro: "If you did not ask for this, ignore this email: your password stays as it is.",
  });
}

/** `${appBaseUrl}/reset_password?reset_id=…&secret_code=…` */
export function passwordResetLink(appBaseUrl: string, resetId: string, secretCode: string): string {
  const url = new URL(`${appBaseUrl}/reset_password`);
  url.searchParams.set("reset_id", resetId);
  url.searchParams.set("secret_code", secretCode);
  return url.toString();
}
