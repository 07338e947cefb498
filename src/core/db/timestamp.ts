import { customType } from "drizzle-orm/pg-core";

/**
 * `timestamp with time zone` mapped to `Date` by our own parser. Drizzle's built-in mapping
 * hands Postgres' text ("0001-01-01 00:00:00+00") to `new Date()`, whose non-ISO parsing
 * differs between runtimes: Bun reads year 1 as 2001, and offsets with seconds (old dates in
 * some zones) as invalid. The contract's `password_changed_at` starts at year 1, so exactness
 * matters here.
 */
export const timestamptz = customType<{ data: Date; driverData: string }>({
  dataType: () => "timestamp with time zone",
  fromDriver: (value) => parsePostgresTimestamp(value),
  toDriver: (value) => value.toISOString(),
});

const PG_TIMESTAMPTZ =
  /^(\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(?:([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?|Z)?( BC)?$/;

/** Parses Postgres' ISO output of timestamptz (any year, any offset) into a Date. */
export function parsePostgresTimestamp(text: string): Date {
  const match = PG_TIMESTAMPTZ.exec(text);
  if (!match) throw new Error(`unexpected timestamp from Postgres: ${text}`);
  const [, y, mo, d, h, mi, s, fraction, sign, oh, om, os, bc] = match;
  const year = bc ? 1 - Number(y) : Number(y);
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 to 1900..1999.
  date.setUTCFullYear(year, Number(mo) - 1, Number(d));
  date.setUTCHours(
    Number(h),
    Number(mi),
    Number(s),
    Number((fraction ?? "0").padEnd(3, "0").slice(0, 3)),
  );
  if (sign) {
    const offsetMs = ((Number(oh) * 60 + Number(om ?? 0)) * 60 + Number(os ?? 0)) * 1000;
    date.setTime(date.getTime() - (sign === "+" ? offsetMs : -offsetMs));
  }
  return date;
}
