const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/**
 * Parses Go-style durations as the original's config used them ("15m", "24h", "1h30m",
 * "900s", "250ms") into milliseconds. Returns undefined for anything else.
 */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(ms|h|m|s))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(ms|h|m|s)/g)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return Number.isSafeInteger(total) ? total : undefined;
}
