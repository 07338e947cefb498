import { type LinkEmailInput, linkEmail } from "./link-email.ts";
import type { Email } from "./mailer.ts";

/** The email that carries a verification link (the original's "Welcome to Simple Bank"). */
export function verificationEmail(input: LinkEmailInput): Email {
  return linkEmail(input, {
    subject: "Welcome to Simple Bank",
    intro: "Thank you for registering with us!",
    action: (anchor) =>
      `Please ${anchor} to verify your email address. The link works once, within 15 minutes.`,
    actionText:
      "Please open this link to verify your email address (it works once, within 15 minutes):",
    outro: "If you did not sign up, ignore this email.",
  });
}

/** `${appBaseUrl}/verify_email?email_id=…&secret_code=…` */
export function verificationLink(appBaseUrl: string, emailId: number, secretCode: string): string {
  const url = new URL(`${appBaseUrl}/verify_email`);
  url.searchParams.set("email_id", String(emailId));
  url.searchParams.set("secret_code", secretCode);
  return url.toString();
}
