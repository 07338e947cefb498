import { escapeHtml } from "../lib/html.ts";
import type { Email } from "./mailer.ts";

/** Who an email with one link goes to, and the link (verification, password reset). */
export interface LinkEmailInput {
  to: string;
  fullName: string;
  link: string;
  idempotencyKey: string;
}

/**
 * An email whose point is one link, in HTML and in plain text alike: a greeting, what happened
 * (`intro`), the link (`action` writes the sentence around the HTML anchor; `actionText` is the
 * plain sentence the bare link follows), and what to do if it was not you (`outro`). The name
 * and the link are escaped in the HTML.
 */
export function linkEmail(
  input: LinkEmailInput,
  words: {
    subject: string;
    intro: string;
    action: (anchor: string) => string;
    actionText: string;
    outro: string;
  },
): Email {
  const anchor = `<a href="${escapeHtml(input.link)}">click here</a>`;
  return {
    to: input.to,
    subject: words.subject,
    idempotencyKey: input.idempotencyKey,
    html: `<!doctype html>
<html><body>
<p>Hello ${escapeHtml(input.fullName)},</p>
<p>${escapeHtml(words.intro)}</p>
<p>${words.action(anchor)}</p>
<p>${escapeHtml(words.outro)}</p>
</body></html>`,
    text: [
      `Hello ${input.fullName},`,
      "",
      words.intro,
      words.actionText,
      input.link,
      "",
      words.outro,
    ].join("\n"),
  };
}
