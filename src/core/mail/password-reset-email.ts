import { escapeHtml } from "../lib/html.ts";
import type { Email } from "./mailer.ts";

/** The email that carries a password reset link (POST /users/password_reset). */
export function passwordResetEmail(input: {
  to: string;
  fullName: string;
  link: string;
  idempotencyKey: string;
}): Email {
  const name = escapeHtml(input.fullName);
  const href = escapeHtml(input.link);
  return {
    to: input.to,
    subject: "Reset your Simple Bank password",
    idempotencyKey: input.idempotencyKey,
    html: `<!doctype html>
<html><body>
<p>Hello ${name},</p>
<p>Someone asked to reset the password of your Simple Bank account.</p>
<p>To choose a new password, <a href="${href}">click here</a>. The link works once, within 15 minutes; setting a new password signs you out everywhere.</p>
<p>If you did not ask for this, ignore this email: your password stays as it is.</p>
</body></html>`,
    text: [
      `Hello ${input.fullName},`,
      "",
      "Someone asked to reset the password of your Simple Bank account.",
      "To choose a new password, open this link (it works once, within 15 minutes; setting a new password signs you out everywhere):",
      input.link,
      "",
      "If you did not ask for this, ignore this email: your password stays as it is.",
    ].join("\n"),
  };
}

/** `${appBaseUrl}/reset_password?reset_id=…&secret_code=…` */
export function passwordResetLink(appBaseUrl: string, resetId: string, secretCode: string): string {
  const url = new URL(`${appBaseUrl}/reset_password`);
  url.searchParams.set("reset_id", resetId);
  url.searchParams.set("secret_code", secretCode);
  return url.toString();
}
