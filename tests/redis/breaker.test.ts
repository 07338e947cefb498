import { describe, expect, test } from "bun:test";
import { createRedisBreaker } from "../../src/core/redis/upstash.ts";
import { captureLogs } from "../support/logs.ts";

/**
 * The breaker around HTTP Redis (injected clock): after a failure Redis is skipped for a
 * cool-down (callers fail open or ask the database), and an outage is logged once, its end
 * once, however many calls fail or succeed meanwhile.
 */

describe("Redis breaker", () => {
  test("closed at first: Redis is tried", () => {
    const { logger, lines: records } = captureLogs();
    expect(createRedisBreaker(logger, () => 0).available()).toBe(true);
    expect(records).toHaveLength(0);
  });

  test("a failure opens it for a few seconds; the outage is logged once, a warning with the reason and no stack", () => {
    let now = 1_000_000;
    const { logger, lines: records } = captureLogs();
    const breaker = createRedisBreaker(logger, () => now);
    breaker.failed(new Error("connection refused"), "revocation check");
    expect(breaker.available()).toBe(false);
    for (let i = 0; i < 100; i++) breaker.failed(new Error("connection refused"), "rate limit");
    now += 1_000;
    expect(breaker.available()).toBe(false);
    // After the cool-down one call may try again; failing again closes the door again.
    now += 10_000;
    expect(breaker.available()).toBe(true);
    breaker.failed(new Error("connection refused"), "rate limit transfers");
    expect(breaker.available()).toBe(false);

    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      level: "warn",
      while: "revocation check",
      reason: "connection refused",
    });
    expect(records[0]?.msg).toBe(
      "Redis is unavailable (connection refused): rate limits fail open and revocation checks use the database",
    );
    // An expected, handled condition: no error object, no stack.
    expect(records[0]?.error).toBeUndefined();
    expect(JSON.stringify(records)).not.toContain("stack");
  });

  test("a success closes it at once and logs the recovery once", () => {
    const now = 5_000_000;
    const { logger, lines: records } = captureLogs();
    const breaker = createRedisBreaker(logger, () => now);
    breaker.failed(new Error("down"), "revoking sessions");
    expect(breaker.available()).toBe(false);
    breaker.succeeded();
    expect(breaker.available()).toBe(true);
    breaker.succeeded();
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      ["warn", expect.stringMatching(/^Redis is unavailable \(down\)/)],
      ["info", "Redis is available again after 0 s"],
    ]);
    // A new outage is a new line.
    breaker.failed(new Error("down again"), "revocation check");
    expect(records).toHaveLength(3);
  });

  test("successes while Redis is fine log nothing", () => {
    const { logger, lines: records } = captureLogs();
    const breaker = createRedisBreaker(logger, () => 0);
    for (let i = 0; i < 10; i++) breaker.succeeded();
    expect(records).toHaveLength(0);
  });
});
