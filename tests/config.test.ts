import { describe, expect, test } from "bun:test";
import path from "node:path";
import {
  CONFIG_VARIABLES,
  type Config,
  ConfigError,
  DEVELOPMENT_TOKEN_KEY,
  loadConfig,
} from "../src/core/config/config.ts";

const PROJECT_ROOT = path.resolve(import.meta.dir, "..");

/** 32 bytes, as production requires. */
const GOOD_KEY = "0123456789abcdef0123456789abcdef";

const VARIABLES = [
  "NODE_ENV",
  "PORT",
  "HTTP_REUSE_PORT",
  "GRPC_PORT",
  "GRPC_TLS_CERT",
  "GRPC_TLS_KEY",
  "DATABASE_URL",
  "DATABASE_POOL_MAX",
  "TRANSFER_GROUP_MAX",
  "EMBEDDED_POSTGRES_DIR",
  "TOKEN_SYMMETRIC_KEY",
  "ACCESS_TOKEN_DURATION",
  "REFRESH_TOKEN_DURATION",
  "REFRESH_TOKEN_REUSE_INTERVAL",
  "LOG_LEVEL",
  "TOKEN_TYPE",
  "BCRYPT_COST",
  "TRUST_PROXY",
  "ALLOWED_ORIGINS",
  "SHUTDOWN_TIMEOUT",
  "WORKER_ENABLED",
  "WORKER_CONCURRENCY",
  "RESEND_API_KEY",
  "RESEND_BASE_URL",
  "EMAIL_FROM",
  "APP_BASE_URL",
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "REDIS_KEY_PREFIX",
  "RATE_LIMIT_ENABLED",
  "RATE_LIMIT_LOGIN_USERNAME",
  "RATE_LIMIT_LOGIN_IP",
  "RATE_LIMIT_SIGNUP_IP",
  "RATE_LIMIT_RESEND_VERIFICATION",
  "RATE_LIMIT_TRANSFERS",
  "RATE_LIMIT_PASSWORD_RESET_IP",
  "RATE_LIMIT_PASSWORD_RESET_EMAIL",
] as const;

/** What production needs besides the database and the token key: a real mailer and Redis. */
const PRODUCTION_SERVICES = {
  RESEND_API_KEY: "re_123",
  EMAIL_FROM: "bank@example.com",
  APP_BASE_URL: "https://bank.example.com",
  UPSTASH_REDIS_REST_URL: "https://redis.example.com",
  UPSTASH_REDIS_REST_TOKEN: "t",
};

const DEFAULTS: Config = {
  nodeEnv: "development",
  port: 8080,
  httpReusePort: false,
  grpc: { port: 9090, tls: undefined },
  databaseUrl: undefined,
  databasePoolMax: 10,
  transferGroupMax: 32,
  embeddedPostgresDir: ".data/postgres",
  tokenSymmetricKey: DEVELOPMENT_TOKEN_KEY,
  accessTokenDuration: 900_000,
  refreshTokenDuration: 86_400_000,
  refreshTokenReuseInterval: 10_000,
  tokenType: "paseto",
  bcryptCost: 10,
  trustProxyHops: 0,
  allowedOrigins: ["http://localhost:3000"],
  logLevel: "info",
  shutdownTimeout: 10_000,
  workerEnabled: true,
  workerConcurrency: 4,
  email: {
    resendApiKey: undefined,
    resendBaseUrl: "https://api.resend.com",
    from: "Simple Bank <no-reply@simplebank.localhost>",
    appBaseUrl: "http://localhost:8080",
  },
  redis: undefined,
  rateLimits: {
    enabled: true,
    rules: {
      login_username: { limit: 5, windowMs: 900_000 },
      login_ip: { limit: 20, windowMs: 900_000 },
      signup_ip: { limit: 10, windowMs: 3_600_000 },
      resend_verification: { limit: 3, windowMs: 3_600_000 },
      transfers: { limit: 60, windowMs: 60_000 },
      password_reset_ip: { limit: 10, windowMs: 3_600_000 },
      password_reset_email: { limit: 3, windowMs: 3_600_000 },
    },
  },
};

/** The ConfigError `loadConfig(env)` throws (fails if it returns a config). */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

function badVariables(env: Record<string, string | undefined>): string[] {
  return configError(env)
    .problems.map((p) => p.variable)
    .sort();
}

describe("loadConfig defaults", () => {
  test("an empty environment gives the development defaults", () => {
    const config = loadConfig({});
    expect(config).toEqual(DEFAULTS);
    expect(config.port).toBe(8080);
    expect(config.databasePoolMax).toBe(10);
    expect(config.accessTokenDuration).toBe(15 * 60 * 1000);
    expect(config.refreshTokenDuration).toBe(24 * 60 * 60 * 1000);
    expect(config.nodeEnv).toBe("development");
    expect(config.databaseUrl).toBeUndefined();
    expect(config.tokenSymmetricKey).toBe(DEVELOPMENT_TOKEN_KEY);
  });

  test.each(VARIABLES)("%s set to the empty string counts as unset", (variable) => {
    expect(loadConfig({ [variable]: "" })).toEqual(DEFAULTS);
  });

  test("every variable empty at once gives the defaults", () => {
    const env = Object.fromEntries(VARIABLES.map((v) => [v, ""]));
    expect(loadConfig(env)).toEqual(DEFAULTS);
  });

  test("unrelated variables are ignored", () => {
    expect(loadConfig({ HOME: "/root", SHELL: "/bin/sh" })).toEqual(DEFAULTS);
  });

  test("every variable is documented: this list, .env.example and the README's table", async () => {
    expect([...CONFIG_VARIABLES].sort()).toEqual([...VARIABLES].sort());
    const example = await Bun.file(path.join(PROJECT_ROOT, ".env.example")).text();
    const readme = await Bun.file(path.join(PROJECT_ROOT, "README.md")).text();
    for (const variable of CONFIG_VARIABLES) {
      expect(example).toMatch(new RegExp(`^${variable}=`, "m"));
      expect(readme).toMatch(new RegExp(`^\\| \`${variable}\` +\\|`, "m"));
    }
  });
});

describe("loadConfig parses good values", () => {
  test("PORT, durations, DATABASE_URL, pool, log level", () => {
    const config = loadConfig({
      PORT: "9000",
      ACCESS_TOKEN_DURATION: "1h30m",
      REFRESH_TOKEN_DURATION: "900s",
      DATABASE_URL: "postgres://u@h:5432/db",
      DATABASE_POOL_MAX: "25",
      LOG_LEVEL: "debug",
      NODE_ENV: "test",
      EMBEDDED_POSTGRES_DIR: "/tmp/pg",
      TOKEN_SYMMETRIC_KEY: GOOD_KEY,
    });
    expect(config).toEqual({
      ...DEFAULTS,
      nodeEnv: "test",
      port: 9000,
      // Verification links point at this server unless APP_BASE_URL says otherwise.
      email: { ...DEFAULTS.email, appBaseUrl: "http://localhost:9000" },
      databaseUrl: "postgres://u@h:5432/db",
      databasePoolMax: 25,
      embeddedPostgresDir: "/tmp/pg",
      tokenSymmetricKey: GOOD_KEY,
      accessTokenDuration: 90 * 60 * 1000,
      refreshTokenDuration: 900_000,
      tokenType: "paseto",
      bcryptCost: 10,
      trustProxyHops: 0,
      allowedOrigins: ["http://localhost:3000"],
      logLevel: "debug",
    });
  });

  test("postgresql:// URLs and the port bounds 0 and 65535 are accepted", () => {
    expect(loadConfig({ DATABASE_URL: "postgresql://u:p@h/db" }).databaseUrl).toBe(
      "postgresql://u:p@h/db",
    );
    expect(loadConfig({ PORT: "0" }).port).toBe(0);
    expect(loadConfig({ PORT: "65535" }).port).toBe(65535);
    expect(loadConfig({ ACCESS_TOKEN_DURATION: "250ms" }).accessTokenDuration).toBe(250);
  });

  test("REFRESH_TOKEN_REUSE_INTERVAL: 10s by default, any duration, 0 (or 0s) for strict", () => {
    expect(loadConfig({}).refreshTokenReuseInterval).toBe(10_000);
    expect(loadConfig({ REFRESH_TOKEN_REUSE_INTERVAL: "2s" }).refreshTokenReuseInterval).toBe(
      2_000,
    );
    expect(loadConfig({ REFRESH_TOKEN_REUSE_INTERVAL: "0" }).refreshTokenReuseInterval).toBe(0);
    expect(loadConfig({ REFRESH_TOKEN_REUSE_INTERVAL: "0s" }).refreshTokenReuseInterval).toBe(0);
  });
});

describe("loadConfig: the REST API's settings", () => {
  test("TOKEN_TYPE, BCRYPT_COST, TRUST_PROXY and ALLOWED_ORIGINS parse", () => {
    const config = loadConfig({
      TOKEN_TYPE: "jwt",
      BCRYPT_COST: "12",
      TRUST_PROXY: "true",
      ALLOWED_ORIGINS: " https://app.example.com , http://localhost:5173,",
    });
    expect(config.tokenType).toBe("jwt");
    expect(config.bcryptCost).toBe(12);
    expect(config.trustProxyHops).toBe(1);
    expect(config.allowedOrigins).toEqual(["https://app.example.com", "http://localhost:5173"]);
    expect(loadConfig({ TRUST_PROXY: "2" }).trustProxyHops).toBe(2);
    expect(loadConfig({ TRUST_PROXY: "false" }).trustProxyHops).toBe(0);
  });
});

describe("loadConfig: jobs, email, Redis, rate limits, shutdown", () => {
  test("parse and normalise", () => {
    const config = loadConfig({
      SHUTDOWN_TIMEOUT: "30s",
      WORKER_ENABLED: "false",
      WORKER_CONCURRENCY: "8",
      RESEND_API_KEY: "re_123",
      RESEND_BASE_URL: "http://127.0.0.1:9999/",
      EMAIL_FROM: "bank@example.com",
      APP_BASE_URL: "https://bank.example.com/",
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079",
      UPSTASH_REDIS_REST_TOKEN: "secret",
      RATE_LIMIT_ENABLED: "0",
      RATE_LIMIT_TRANSFERS: "100/30s",
    });
    expect(config.shutdownTimeout).toBe(30_000);
    expect(config.workerEnabled).toBe(false);
    expect(config.workerConcurrency).toBe(8);
    expect(config.email).toEqual({
      resendApiKey: "re_123",
      resendBaseUrl: "http://127.0.0.1:9999",
      from: "bank@example.com",
      appBaseUrl: "https://bank.example.com",
    });
    expect(config.redis).toEqual({
      url: "http://127.0.0.1:8079",
      token: "secret",
      keyPrefix: "simplebank:",
    });
    expect(config.rateLimits.enabled).toBe(false);
    expect(config.rateLimits.rules.transfers).toEqual({ limit: 100, windowMs: 30_000 });
  });

  test("the Upstash URL and token come together", () => {
    expect(badVariables({ UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079" })).toEqual([
      "UPSTASH_REDIS_REST_TOKEN",
    ]);
    expect(badVariables({ UPSTASH_REDIS_REST_TOKEN: "t" })).toEqual(["UPSTASH_REDIS_REST_URL"]);
    // The REST URL, not the RESP one: redis:// is refused.
    expect(
      badVariables({
        UPSTASH_REDIS_REST_URL: "redis://127.0.0.1:6379",
        UPSTASH_REDIS_REST_TOKEN: "t",
      }),
    ).toEqual(["UPSTASH_REDIS_REST_URL"]);
  });

  test("gRPC's TLS certificate and key come together", () => {
    expect(badVariables({ GRPC_TLS_CERT: "/tls/cert.pem" })).toEqual(["GRPC_TLS_KEY"]);
    expect(badVariables({ GRPC_TLS_KEY: "/tls/key.pem" })).toEqual(["GRPC_TLS_CERT"]);
    expect(
      loadConfig({ GRPC_TLS_CERT: "/tls/cert.pem", GRPC_TLS_KEY: "/tls/key.pem" }).grpc.tls,
    ).toEqual({ certFile: "/tls/cert.pem", keyFile: "/tls/key.pem" });
  });

  test("REDIS_KEY_PREFIX names the deployment's keys: printable, no spaces, at most 64", () => {
    const redis = {
      UPSTASH_REDIS_REST_URL: "http://127.0.0.1:8079",
      UPSTASH_REDIS_REST_TOKEN: "t",
    };
    expect(loadConfig({ ...redis, REDIS_KEY_PREFIX: "bank-eu:" }).redis?.keyPrefix).toBe(
      "bank-eu:",
    );
    for (const bad of ["has space:", "x".repeat(65), "é:"]) {
      expect(badVariables({ ...redis, REDIS_KEY_PREFIX: bad })).toEqual(["REDIS_KEY_PREFIX"]);
    }
  });

  test("production requires a real mailer and Redis", () => {
    const base = {
      NODE_ENV: "production",
      DATABASE_URL: "postgres://h/db",
      TOKEN_SYMMETRIC_KEY: GOOD_KEY,
    };
    expect(badVariables(base)).toEqual([
      "APP_BASE_URL",
      "EMAIL_FROM",
      "RESEND_API_KEY",
      "UPSTASH_REDIS_REST_TOKEN",
      "UPSTASH_REDIS_REST_URL",
    ]);
    const complete = {
      ...base,
      RESEND_API_KEY: "re_123",
      EMAIL_FROM: "bank@example.com",
      APP_BASE_URL: "https://bank.example.com",
      UPSTASH_REDIS_REST_URL: "https://redis.example.com",
      UPSTASH_REDIS_REST_TOKEN: "t",
    };
    expect(loadConfig(complete).nodeEnv).toBe("production");
  });
});

describe("loadConfig names each bad variable", () => {
  const cases: [string, string][] = [
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["PORT", "-1"],
    ["PORT", "80.5"],
    ["DATABASE_POOL_MAX", "0"],
    ["DATABASE_POOL_MAX", "1001"],
    ["TRANSFER_GROUP_MAX", "0"],
    ["TRANSFER_GROUP_MAX", "1001"],
    ["ACCESS_TOKEN_DURATION", "15"],
    ["ACCESS_TOKEN_DURATION", "0s"],
    ["REFRESH_TOKEN_DURATION", "-1h"],
    ["REFRESH_TOKEN_DURATION", "1d"],
    ["REFRESH_TOKEN_REUSE_INTERVAL", "-1s"],
    ["REFRESH_TOKEN_REUSE_INTERVAL", "10"],
    ["LOG_LEVEL", "verbose"],
    ["NODE_ENV", "staging"],
    ["DATABASE_URL", "mysql://x"],
    ["DATABASE_URL", "postgres://"],
    ["TOKEN_SYMMETRIC_KEY", "short"],
    ["TOKEN_SYMMETRIC_KEY", `${GOOD_KEY}x`],
    ["TOKEN_TYPE", "PASETO"],
    ["TOKEN_TYPE", "macaroon"],
    ["BCRYPT_COST", "3"],
    ["BCRYPT_COST", "32"],
    ["TRUST_PROXY", "yes"],
    ["TRUST_PROXY", "-1"],
    ["ALLOWED_ORIGINS", "localhost:3000"],
    ["ALLOWED_ORIGINS", "https://app.example.com/path"],
    ["ALLOWED_ORIGINS", "https://ok.example.com,not an origin"],
    ["SHUTDOWN_TIMEOUT", "10"],
    ["WORKER_ENABLED", "yes"],
    ["HTTP_REUSE_PORT", "yes"],
    ["WORKER_CONCURRENCY", "0"],
    ["RESEND_BASE_URL", "api.resend.com"],
    ["EMAIL_FROM", "not an address"],
    ["APP_BASE_URL", "ftp://bank.example.com"],
    ["RATE_LIMIT_ENABLED", "off"],
    ["RATE_LIMIT_LOGIN_USERNAME", "5"],
    ["RATE_LIMIT_LOGIN_IP", "0/15m"],
    ["RATE_LIMIT_SIGNUP_IP", "10/1d"],
    ["RATE_LIMIT_RESEND_VERIFICATION", "3/500ms"],
    ["RATE_LIMIT_TRANSFERS", "many/1m"],
    ["RATE_LIMIT_PASSWORD_RESET_IP", "10"],
    ["RATE_LIMIT_PASSWORD_RESET_EMAIL", "0/1h"],
  ];

  test.each(cases)("%s=%p", (variable, value) => {
    const error = configError({ [variable]: value });
    expect(error.problems.map((p) => p.variable)).toEqual([variable]);
    expect(error.problems[0]?.message.length).toBeGreaterThan(0);
    expect(error.message).toContain(variable);
    expect(error.name).toBe("ConfigError");
  });

  test.each([
    ["LOG_LEVEL", "verbose", "LOG_LEVEL=verbose: must be one of debug, info, warn, error"],
    ["NODE_ENV", "staging", "NODE_ENV=staging: must be one of development, production, test"],
    ["TOKEN_TYPE", "PASETO", "TOKEN_TYPE=PASETO: must be one of paseto, jwt"],
    ["PORT", "70000", "PORT=70000: must be at most 65535"],
    ["ACCESS_TOKEN_DURATION", "15", "ACCESS_TOKEN_DURATION=15: must be a positive duration"],
    [
      "REFRESH_TOKEN_REUSE_INTERVAL",
      "soon",
      "REFRESH_TOKEN_REUSE_INTERVAL=soon: must be a duration",
    ],
    ["TRUST_PROXY", "yes", "TRUST_PROXY=yes: must be false, true or the number of proxies"],
    [
      "RATE_LIMIT_TRANSFERS",
      "many/1m",
      "RATE_LIMIT_TRANSFERS=many/1m: must be <requests>/<window>",
    ],
    ["WORKER_ENABLED", "yes", "WORKER_ENABLED=yes: must be true or false"],
    [
      "DATABASE_URL",
      "mysql://x",
      "DATABASE_URL=mysql://x: must be a postgres:// or postgresql:// URL",
    ],
  ])("the message names the variable and its value: %s=%p", (variable, value, expected) => {
    const error = configError({ [variable]: value });
    expect(error.message).toContain(expected);
    expect(error.problems[0]?.value).toBe(value);
  });

  test("secrets are never echoed: keys and tokens <redacted>, a URL's password too", () => {
    const secret = "hunter2-super-secret";
    const error = configError({
      TOKEN_SYMMETRIC_KEY: secret,
      DATABASE_URL: `mysql://bank:${secret}@db.internal:5432/bank?password=${secret}`,
      UPSTASH_REDIS_REST_URL: `redis://:${secret}@127.0.0.1:6379`,
      UPSTASH_REDIS_REST_TOKEN: secret,
      NODE_ENV: "production",
      RESEND_API_KEY: secret,
    });
    expect(error.message).not.toContain(secret);
    expect(JSON.stringify(error.problems)).not.toContain(secret);
    expect(error.message).toContain("TOKEN_SYMMETRIC_KEY=<redacted>: must be exactly 32 bytes");
    expect(error.message).toContain(
      "DATABASE_URL=mysql://bank:<redacted>@db.internal:5432/bank?password=<redacted>: must be",
    );
    expect(error.message).toContain("UPSTASH_REDIS_REST_URL=redis://:<redacted>@127.0.0.1:6379");
    // The development key in production: named, never shown.
    const dev = configError({
      ...PRODUCTION_SERVICES,
      NODE_ENV: "production",
      DATABASE_URL: "postgres://h/db",
      TOKEN_SYMMETRIC_KEY: DEVELOPMENT_TOKEN_KEY,
    });
    expect(dev.message).toContain("TOKEN_SYMMETRIC_KEY=<redacted>: is required in production");
    expect(dev.message).not.toContain(DEVELOPMENT_TOKEN_KEY);
  });

  test("an unset variable is named without a value; a very long value is cut short", () => {
    const error = configError({ NODE_ENV: "production", ...PRODUCTION_SERVICES });
    expect(error.message).toContain("  - DATABASE_URL: is required in production");
    const long = configError({ EMAIL_FROM: "x".repeat(5_000) });
    expect(long.message.length).toBeLessThan(400);
    expect(long.message).toContain(`EMAIL_FROM=${"x".repeat(100)}…: must be`);
  });

  test("several bad variables → one ConfigError naming every one of them", () => {
    const env = {
      PORT: "abc",
      DATABASE_POOL_MAX: "0",
      ACCESS_TOKEN_DURATION: "15",
      REFRESH_TOKEN_DURATION: "-1h",
      LOG_LEVEL: "verbose",
      NODE_ENV: "staging",
      DATABASE_URL: "mysql://x",
      TOKEN_SYMMETRIC_KEY: "short",
    };
    const error = configError(env);
    const named = error.problems.map((p) => p.variable).sort();
    expect(named).toEqual(Object.keys(env).sort());
    for (const variable of Object.keys(env)) expect(error.message).toContain(variable);
    expect(error.message).toContain(`(${Object.keys(env).length} variables)`);
  });

  test("in production, a bad variable does not hide the missing production settings", () => {
    expect(badVariables({ NODE_ENV: "production", PORT: "abc", ...PRODUCTION_SERVICES })).toEqual([
      "DATABASE_URL",
      "PORT",
      "TOKEN_SYMMETRIC_KEY",
    ]);
  });
});

describe("loadConfig in production", () => {
  test("without DATABASE_URL and TOKEN_SYMMETRIC_KEY → both named", () => {
    const error = configError({ NODE_ENV: "production", ...PRODUCTION_SERVICES });
    expect(error.problems.map((p) => p.variable).sort()).toEqual([
      "DATABASE_URL",
      "TOKEN_SYMMETRIC_KEY",
    ]);
    expect(error.message).toContain("DATABASE_URL");
    expect(error.message).toContain("TOKEN_SYMMETRIC_KEY");
  });

  test("empty DATABASE_URL and TOKEN_SYMMETRIC_KEY count as missing", () => {
    expect(
      badVariables({
        NODE_ENV: "production",
        DATABASE_URL: "",
        TOKEN_SYMMETRIC_KEY: "",
        ...PRODUCTION_SERVICES,
      }),
    ).toEqual(["DATABASE_URL", "TOKEN_SYMMETRIC_KEY"]);
  });

  test("the development key is rejected", () => {
    expect(
      badVariables({
        NODE_ENV: "production",
        DATABASE_URL: "postgres://u@h:5432/db",
        TOKEN_SYMMETRIC_KEY: DEVELOPMENT_TOKEN_KEY,
        ...PRODUCTION_SERVICES,
      }),
    ).toEqual(["TOKEN_SYMMETRIC_KEY"]);
  });

  test("with everything production needs set → ok", () => {
    const config = loadConfig({
      NODE_ENV: "production",
      DATABASE_URL: "postgres://u@h:5432/db",
      TOKEN_SYMMETRIC_KEY: GOOD_KEY,
      ...PRODUCTION_SERVICES,
    });
    expect(config).toEqual({
      ...DEFAULTS,
      nodeEnv: "production",
      databaseUrl: "postgres://u@h:5432/db",
      tokenSymmetricKey: GOOD_KEY,
      email: {
        resendApiKey: "re_123",
        resendBaseUrl: "https://api.resend.com",
        from: "bank@example.com",
        appBaseUrl: "https://bank.example.com",
      },
      redis: { url: "https://redis.example.com", token: "t", keyPrefix: "simplebank:" },
    });
  });

  test("the development key is fine outside production", () => {
    expect(loadConfig({ TOKEN_SYMMETRIC_KEY: DEVELOPMENT_TOKEN_KEY }).tokenSymmetricKey).toBe(
      DEVELOPMENT_TOKEN_KEY,
    );
  });
});

describe("the server process with a bad configuration", () => {
  test("exits 1 quickly and names every bad variable on stderr", async () => {
    const child = Bun.spawn(["bun", "src/main.ts"], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? "", PORT: "abc", LOG_LEVEL: "verbose" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const stderr = new Response(child.stderr).text();
    const stdout = new Response(child.stdout).text();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), 10_000);
    });
    const outcome = await Promise.race([child.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      child.kill("SIGKILL");
      await child.exited;
    }
    expect(outcome).toBe(1);
    const errors = await stderr;
    expect(errors).toContain("PORT");
    expect(errors).toContain("LOG_LEVEL");
    expect(errors).toContain("Invalid configuration (2 variables)");
    expect(errors).toContain("PORT=abc: must be an integer");
    expect(errors).toContain("LOG_LEVEL=verbose: must be one of debug, info, warn, error");
    // Nothing was started: no "serving on" line.
    expect(await stdout).not.toContain("serving on");
  }, 20_000);
});
