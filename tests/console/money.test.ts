import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { formatMoney, formatTime, MAX_CENTS, parseMoney } from "../../console/src/money.ts";

/** The console's money: typed amounts parsed exactly to cents, cents shown exactly. */
describe("parseMoney", () => {
  test.each([
    ["12.34", 1234],
    ["12", 1200],
    ["12.5", 1250],
    ["0.01", 1],
    [" 7.00 ", 700],
    ["0.29", 29], // 0.29 * 100 is 28.999999999999996 in floating point
    ["1.15", 115],
    ["10000000000", MAX_CENTS],
  ])("%s → %d cents", (text, cents) => {
    expect(parseMoney(text)).toBe(cents);
  });

  test.each(["", "0", "0.00", "-1", "1.234", "1,5", "1e3", "abc", ".5", "5.", "10000000000.01"])(
    "%p is not an amount",
    (text) => {
      expect(parseMoney(text)).toBeNull();
    },
  );

  test("every amount of cents survives formatting and parsing back", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_CENTS }), (cents) => {
        const shown = formatMoney(cents, "USD").replace(" USD", "").replaceAll(",", "");
        expect(parseMoney(shown)).toBe(cents);
      }),
    );
  });
});

describe("formatMoney and formatTime", () => {
  test.each([
    [0, "EUR", "0.00 EUR"],
    [5, "USD", "0.05 USD"],
    [123456, "USD", "1,234.56 USD"],
    [-250, "CAD", "−2.50 CAD"],
    [MAX_CENTS, "USD", "10,000,000,000.00 USD"],
  ])("%d %s → %s", (cents, currency, text) => {
    expect(formatMoney(cents, currency)).toBe(text);
  });

  test("a timestamp as day, minutes and UTC", () => {
    expect(formatTime("2026-12-02T06:55:09.123456Z")).toBe("2026-12-02 06:55 UTC");
  });
});
