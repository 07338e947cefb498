import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/core/config/config.ts";
import {
  DEVELOPMENT_REDIS_REST_TOKEN,
  loadRedisRestConfig,
  type RedisRestConfig,
} from "../../tools/redis-rest/config.ts";

const DEFAULTS: RedisRestConfig = {
  nodeEnv: "development",
  redis: { host: "127.0.0.1", port: 6379, username: undefined, password: undefined, db: 0 },
  host: "127.0.0.1",
  port: 8079,
  token: DEVELOPMENT_REDIS_REST_TOKEN,
  logLevel: "info",
};

function badVariables(env: Record<string, string | undefined>): string[] {
  try {
    loadRedisRestConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => p.variable).sort();
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe("loadRedisRestConfig", () => {
  test("an empty environment gives the development defaults, token local-dev-token", () => {
    expect(loadRedisRestConfig({})).toEqual(DEFAULTS);
    expect(DEVELOPMENT_REDIS_REST_TOKEN).toBe("local-dev-token");
  });

  test("empty strings count as unset", () => {
    const env = {
      NODE_ENV: "",
      REDIS_URL: "",
      REDIS_REST_HOST: "",
      REDIS_REST_PORT: "",
      REDIS_REST_TOKEN: "",
      LOG_LEVEL: "",
    };
    expect(loadRedisRestConfig(env)).toEqual(DEFAULTS);
  });

  test("parses every variable", () => {
    expect(
      loadRedisRestConfig({
        NODE_ENV: "production",
        REDIS_URL: "redis://app:p%40ss@redis.internal:6380/3",
        REDIS_REST_HOST: "0.0.0.0",
        REDIS_REST_PORT: "0",
        REDIS_REST_TOKEN: "s3cret-token",
        LOG_LEVEL: "debug",
      }),
    ).toEqual({
      nodeEnv: "production",
      redis: { host: "redis.internal", port: 6380, username: "app", password: "p@ss", db: 3 },
      host: "0.0.0.0",
      port: 0,
      token: "s3cret-token",
      logLevel: "debug",
    });
  });

  test("REDIS_URL: password only, default port, IPv6", () => {
    expect(loadRedisRestConfig({ REDIS_URL: "redis://:pw@localhost" }).redis).toEqual({
      host: "localhost",
      port: 6379,
      username: undefined,
      password: "pw",
      db: 0,
    });
    expect(loadRedisRestConfig({ REDIS_URL: "redis://[::1]:6379/1" }).redis).toMatchObject({
      host: "::1",
      db: 1,
    });
  });

  test.each([
    ["REDIS_URL", "http://127.0.0.1:6379"],
    ["REDIS_URL", "rediss://127.0.0.1:6379"],
    ["REDIS_URL", "127.0.0.1:6379"],
    ["REDIS_URL", "redis://127.0.0.1:6379/zero"],
    ["REDIS_URL", "redis://"],
    ["REDIS_REST_PORT", "abc"],
    ["REDIS_REST_PORT", "70000"],
    ["REDIS_REST_PORT", "-1"],
    ["REDIS_REST_TOKEN", "has spaces"],
    ["LOG_LEVEL", "verbose"],
    ["NODE_ENV", "staging"],
  ])("%s=%p is named", (variable, value) => {
    expect(badVariables({ [variable]: value })).toEqual([variable]);
  });

  test("production requires REDIS_REST_TOKEN, and not the development one", () => {
    expect(badVariables({ NODE_ENV: "production" })).toEqual(["REDIS_REST_TOKEN"]);
    expect(
      badVariables({ NODE_ENV: "production", REDIS_REST_TOKEN: DEVELOPMENT_REDIS_REST_TOKEN }),
    ).toEqual(["REDIS_REST_TOKEN"]);
  });

  test("one ConfigError names every bad variable", () => {
    const env = {
      NODE_ENV: "production",
      REDIS_URL: "http://x",
      REDIS_REST_PORT: "abc",
      LOG_LEVEL: "loud",
    };
    expect(badVariables(env)).toEqual([
      "LOG_LEVEL",
      "REDIS_REST_PORT",
      "REDIS_REST_TOKEN",
      "REDIS_URL",
    ]);
  });

  test("each message names the variable and its value; the token and a URL's password are never shown", () => {
    let message = "";
    try {
      loadRedisRestConfig({
        NODE_ENV: "production",
        REDIS_URL: "rediss://default:hunter2@cache.internal:6380",
        REDIS_REST_PORT: "abc",
        REDIS_REST_TOKEN: DEVELOPMENT_REDIS_REST_TOKEN,
        LOG_LEVEL: "loud",
      });
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message).toContain("LOG_LEVEL=loud: must be one of debug, info, warn, error");
    expect(message).toContain("REDIS_REST_PORT=abc: must be an integer");
    expect(message).toContain("REDIS_URL=rediss://default:<redacted>@cache.internal:6380: must be");
    expect(message).toContain("REDIS_REST_TOKEN=<redacted>: is required in production");
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain(DEVELOPMENT_REDIS_REST_TOKEN);
  });
});
