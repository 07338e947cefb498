import { escapeHtml } from "../lib/html.ts";
import type { Email } from "./mailer.ts";

/** The email that carries a verification link (the original's "Welcome to Simple Bank"). */
export function verificationEmail(input: {
  to: string;
  fullName: string;
  link: string;
  idempotencyKey: string;
}): Email {
  const name = escapeHtml(input.fullName);
  const href = escapeHtml(input.link);
  return {
    to: input.to,
    subject: "Welcome to Simple Bank",
    idempotencyKey: input.idempotencyKey,
    html: `<!doctype html>
<html><body>
<p>Hello ${name},</p>
<p>Thank you for registering with us!</p>
<p>Please <a href="${href}">click here</a> to verify your email address. The link works once, within 15 minutes.</p>
<p>If you did not sign up, ignore this email.</p>
</body></html>`,
    text: [
      `Hello ${input.fullName},`,
      "",
      "Thank you for registering with us!",
      "Please open this link to verify your email address (it works once, within 15 minutes):",
      input.link,
      "",
      "If you did not sign up, ignore this email.",
    ].join("\n"),
  };
}

/** `${appBaseUrl}/verify_email?email_id=…&secret_code=…` */
export function verificationLink(appBaseUrl: string, emailId: number, secretCode: string): string {
  const url = new URL(`${appBaseUrl}/verify_email`);
  url.searchParams.set("email_id", String(emailId));
  url.searchParams.set("secret_code", secretCode);
  return url.toString();
}
