/**
 * Money as the API has it: integer cents. Typed amounts ("12.34", "12", "12.5") are parsed to
 * cents with integer arithmetic only (never through a float), and cents are shown as text built
 * from their digits.
 */

/** The contract's bounds of `amount`, in cents. */
export const MAX_CENTS = 1_000_000_000_000;

/** "12.34" → 1234; null when it is not an amount of at most two decimals within the bounds. */
export function parseMoney(text: string): number | null {
  const match = /^\s*(\d{1,11})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? "").padEnd(2, "0"));
  const cents = whole * 100 + fraction;
  return cents >= 1 && cents <= MAX_CENTS ? cents : null;
}

/** 123456 and "USD" → "1,234.56 USD"; negative amounts get a leading minus sign. */
export function formatMoney(cents: number, currency: string): string {
  const sign = cents < 0 ? "−" : "";
  const absolute = Math.abs(cents);
  const whole = String(Math.floor(absolute / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = String(absolute % 100).padStart(2, "0");
  return `${sign}${whole}.${fraction} ${currency}`;
}

/** An RFC 3339 timestamp shown as "2026-12-02 06:55 UTC". */
export function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
