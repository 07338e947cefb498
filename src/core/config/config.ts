import { z } from "zod";
import { parseDuration } from "../lib/duration.ts";

/**
 * The one place that reads the environment. `loadConfig(process.env)` is called once at
 * start-up (server, worker, CLI); everything else receives the typed `Config`.
 */

/** Used only outside production so `bun run dev` works with nothing set. Never valid in production. */
export const DEVELOPMENT_TOKEN_KEY = "dev-only-insecure-key-0123456789";

export const emptyAsUnset = (value: unknown) => (value === "" ? undefined : value);

/** Whether `text` parses as a URL (URL.canParse, which not every runtime has yet). */
export function isUrl(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

/** An integer variable; the default sits inside the preprocess so "" falls back to it too. */
export const integer = (min: number, max: number, fallback: number) =>
  z.preprocess(
    emptyAsUnset,
    z.coerce
      .number({ error: "must be an integer" })
      .int({ error: "must be an integer" })
      .min(min, { error: `must be at least ${min}` })
      .max(max, { error: `must be at most ${max}` })
      .default(fallback),
  );

const duration = (fallback: string) =>
  z.preprocess(
    emptyAsUnset,
    z
      .string()
      .default(fallback)
      .transform((value, ctx) => {
        const ms = parseDuration(value);
        if (ms === undefined || ms <= 0) {
          ctx.addIssue({
            code: "custom",
            message: `must be a positive duration such as 15m, 24h or 1h30m (got "${value}")`,
          });
          return z.NEVER;
        }
        return ms;
      }),
  );

const postgresUrl = z.preprocess(
  emptyAsUnset,
  z
    .string()
    .refine((value) => /^postgres(ql)?:\/\/./.test(value) && isUrl(value), {
      error: "must be a postgres:// or postgresql:// URL",
    })
    .optional(),
);

const boolean = (fallback: boolean) =>
  z.preprocess(
    emptyAsUnset,
    z
      .enum(["true", "false", "1", "0"], { error: "must be true or false" })
      .default(fallback ? "true" : "false")
      .transform((value) => value === "true" || value === "1"),
  );

const httpUrl = (fallback?: string) =>
  z.preprocess(
    emptyAsUnset,
    (fallback === undefined ? z.string() : z.string().default(fallback))
      .refine((value) => /^https?:\/\/./.test(value) && isUrl(value), {
        error: "must be an http:// or https:// URL",
      })
      .transform((value) => value.replace(/\/+$/, ""))
      .optional(),
  );

const optionalString = z.preprocess(emptyAsUnset, z.string().optional());

/** A rate limit as `<requests>/<window>`, e.g. `5/15m`. */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

const rateLimit = (fallback: string) =>
  z.preprocess(
    emptyAsUnset,
    z
      .string()
      .default(fallback)
      .transform((value, ctx): RateLimitRule => {
        const match = /^([0-9]{1,6})\/(.+)$/.exec(value);
        const limit = Number(match?.[1]);
        const windowMs = match?.[2] ? parseDuration(match[2]) : undefined;
        if (!match || limit < 1 || windowMs === undefined || windowMs < 1000) {
          ctx.addIssue({
            code: "custom",
            message: `must be <requests>/<window> such as 5/15m or 60/1m (got "${value}")`,
          });
          return z.NEVER;
        }
        return { limit, windowMs };
      }),
  );

export const nodeEnv = z.preprocess(
  emptyAsUnset,
  z.enum(["development", "production", "test"]).default("development"),
);

export const logLevel = z.preprocess(
  emptyAsUnset,
  z.enum(["debug", "info", "warn", "error"]).default("info"),
);

const schema = z.object({
  NODE_ENV: nodeEnv,
  PORT: integer(0, 65535, 8080),
  DATABASE_URL: postgresUrl,
  DATABASE_POOL_MAX: integer(1, 1000, 10),
  EMBEDDED_POSTGRES_DIR: z.preprocess(emptyAsUnset, z.string().default(".data/postgres")),
  TOKEN_SYMMETRIC_KEY: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .refine((value) => new TextEncoder().encode(value).length === 32, {
        error: "must be exactly 32 bytes",
      })
      .optional(),
  ),
  TOKEN_TYPE: z.preprocess(emptyAsUnset, z.enum(["paseto", "jwt"]).default("paseto")),
  ACCESS_TOKEN_DURATION: duration("15m"),
  REFRESH_TOKEN_DURATION: duration("24h"),
  BCRYPT_COST: integer(4, 31, 10),
  TRUST_PROXY: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .default("false")
      .transform((value, ctx) => {
        if (value === "false") return 0;
        if (value === "true") return 1;
        if (/^[0-9]{1,2}$/.test(value)) return Number(value);
        ctx.addIssue({
          code: "custom",
          message: `must be false, true or the number of proxies in front (got "${value}")`,
        });
        return z.NEVER;
      }),
  ),
  ALLOWED_ORIGINS: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .default("http://localhost:3000")
      .transform((value, ctx) => {
        const origins = value
          .split(",")
          .map((origin) => origin.trim())
          .filter(Boolean);
        for (const origin of origins) {
          if (!isUrl(origin) || new URL(origin).origin !== origin) {
            ctx.addIssue({
              code: "custom",
              message: `"${origin}" is not an origin such as https://app.example.com`,
            });
          }
        }
        return origins;
      }),
  ),
  LOG_LEVEL: logLevel,
  SHUTDOWN_TIMEOUT: duration("10s"),
  WORKER_ENABLED: boolean(true),
  WORKER_CONCURRENCY: integer(1, 100, 4),
  RESEND_API_KEY: optionalString,
  RESEND_BASE_URL: httpUrl("https://api.resend.com"),
  EMAIL_FROM: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .default("Simple Bank <no-reply@simplebank.localhost>")
      .refine((value) => /^([^<>]+<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/.test(value), {
        error: 'must be an address such as "Simple Bank <no-reply@example.com>"',
      }),
  ),
  APP_BASE_URL: httpUrl(),
  UPSTASH_REDIS_REST_URL: httpUrl(),
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  REDIS_KEY_PREFIX: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .regex(/^[\x21-\x7e]{1,64}$/, {
        error: "must be 1 to 64 printable ASCII characters without spaces",
      })
      .default("simplebank:"),
  ),
  RATE_LIMIT_ENABLED: boolean(true),
  RATE_LIMIT_LOGIN_USERNAME: rateLimit("5/15m"),
  RATE_LIMIT_LOGIN_IP: rateLimit("20/15m"),
  RATE_LIMIT_SIGNUP_IP: rateLimit("10/1h"),
  RATE_LIMIT_RESEND_VERIFICATION: rateLimit("3/1h"),
  RATE_LIMIT_TRANSFERS: rateLimit("60/1m"),
});

/** Every variable the configuration reads. */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

/**
 * Production must not silently fall back to anything unsafe. Checked on the raw environment
 * and apart from the schema, so a bad PORT does not hide a missing DATABASE_URL.
 */
function productionProblems(env: Record<string, string | undefined>): ConfigProblem[] {
  if (env.NODE_ENV !== "production") return [];
  const problems: ConfigProblem[] = [];
  if (!env.DATABASE_URL) {
    problems.push({
      variable: "DATABASE_URL",
      message: "is required in production (the embedded database is for development only)",
    });
  }
  if (!env.TOKEN_SYMMETRIC_KEY || env.TOKEN_SYMMETRIC_KEY === DEVELOPMENT_TOKEN_KEY) {
    problems.push({
      variable: "TOKEN_SYMMETRIC_KEY",
      message: "is required in production (32 random bytes, never the development key)",
    });
  }
  const required: [string, string][] = [
    ["RESEND_API_KEY", "is required in production (emails are only logged without it)"],
    ["EMAIL_FROM", "is required in production (the sender of verification emails)"],
    ["APP_BASE_URL", "is required in production (verification links point to it)"],
    ["UPSTASH_REDIS_REST_URL", "is required in production (rate limits and revocations)"],
    ["UPSTASH_REDIS_REST_TOKEN", "is required in production (rate limits and revocations)"],
  ];
  for (const [variable, message] of required) {
    if (!env[variable]) problems.push({ variable, message });
  }
  return problems;
}

/** Redis over HTTP needs its URL and token together. */
function pairProblems(env: Record<string, string | undefined>): ConfigProblem[] {
  const url = Boolean(env.UPSTASH_REDIS_REST_URL);
  const token = Boolean(env.UPSTASH_REDIS_REST_TOKEN);
  if (url === token) return [];
  const missing = url ? "UPSTASH_REDIS_REST_TOKEN" : "UPSTASH_REDIS_REST_URL";
  const given = url ? "UPSTASH_REDIS_REST_URL" : "UPSTASH_REDIS_REST_TOKEN";
  return [{ variable: missing, message: `is required when ${given} is set` }];
}

export interface Config {
  nodeEnv: "development" | "production" | "test";
  port: number;
  /** Unset: start the embedded PostgreSQL (never in production). */
  databaseUrl: string | undefined;
  databasePoolMax: number;
  embeddedPostgresDir: string;
  tokenSymmetricKey: string;
  /** PASETO v4.local (default) or JWT HS256. */
  tokenType: "paseto" | "jwt";
  /** Milliseconds. */
  accessTokenDuration: number;
  /** Milliseconds. */
  refreshTokenDuration: number;
  /** bcrypt cost factor of new password hashes. */
  bcryptCost: number;
  /** Proxies in front of the server whose X-Forwarded-For entries are trusted (0: none). */
  trustProxyHops: number;
  /** Origins allowed by CORS (with credentials). */
  allowedOrigins: string[];
  logLevel: "debug" | "info" | "warn" | "error";
  /** Milliseconds that in-flight requests and jobs get to finish on SIGTERM / SIGINT. */
  shutdownTimeout: number;
  /** Run the background-job worker inside the server process. */
  workerEnabled: boolean;
  /** Jobs one worker process runs at once. */
  workerConcurrency: number;
  email: {
    /** Unset: emails are written to the log (development). */
    resendApiKey: string | undefined;
    resendBaseUrl: string;
    from: string;
    /** Verification links are `${appBaseUrl}/verify_email?...`; default: this server on PORT. */
    appBaseUrl: string;
  };
  /**
   * Redis over HTTP (Upstash REST). Unset: revocations are read from the database, rate limits
   * count per process. Every key starts with `keyPrefix`, so deployments sharing one Redis never
   * read each other's.
   */
  redis: { url: string; token: string; keyPrefix: string } | undefined;
  rateLimits: {
    enabled: boolean;
    loginPerUsername: RateLimitRule;
    loginPerIp: RateLimitRule;
    signupPerIp: RateLimitRule;
    resendVerificationPerUser: RateLimitRule;
    transfersPerUser: RateLimitRule;
  };
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `Invalid configuration (${problems.length} variable${problems.length === 1 ? "" : "s"}):\n${problems
        .map((p) => `  - ${p.variable}: ${p.message}`)
        .join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

/** One problem per zod issue, named by the variable (the issue path's first element). */
export function problemsOf(error: z.ZodError | undefined): ConfigProblem[] {
  return (error?.issues ?? []).map((issue) => ({
    variable: String(issue.path[0] ?? "(environment)"),
    message: issue.message,
  }));
}

/** Parses the environment; throws one `ConfigError` naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = schema.safeParse(env);
  const problems = problemsOf(parsed.error);
  for (const problem of [...productionProblems(env), ...pairProblems(env)]) {
    if (!problems.some((p) => p.variable === problem.variable)) problems.push(problem);
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    embeddedPostgresDir: e.EMBEDDED_POSTGRES_DIR,
    tokenSymmetricKey: e.TOKEN_SYMMETRIC_KEY ?? DEVELOPMENT_TOKEN_KEY,
    tokenType: e.TOKEN_TYPE,
    accessTokenDuration: e.ACCESS_TOKEN_DURATION,
    refreshTokenDuration: e.REFRESH_TOKEN_DURATION,
    bcryptCost: e.BCRYPT_COST,
    trustProxyHops: e.TRUST_PROXY,
    allowedOrigins: e.ALLOWED_ORIGINS,
    logLevel: e.LOG_LEVEL,
    shutdownTimeout: e.SHUTDOWN_TIMEOUT,
    workerEnabled: e.WORKER_ENABLED,
    workerConcurrency: e.WORKER_CONCURRENCY,
    email: {
      resendApiKey: e.RESEND_API_KEY,
      resendBaseUrl: e.RESEND_BASE_URL ?? "https://api.resend.com",
      from: e.EMAIL_FROM,
      appBaseUrl: e.APP_BASE_URL ?? `http://localhost:${e.PORT}`,
    },
    redis:
      e.UPSTASH_REDIS_REST_URL && e.UPSTASH_REDIS_REST_TOKEN
        ? {
            url: e.UPSTASH_REDIS_REST_URL,
            token: e.UPSTASH_REDIS_REST_TOKEN,
            keyPrefix: e.REDIS_KEY_PREFIX,
          }
        : undefined,
    rateLimits: {
      enabled: e.RATE_LIMIT_ENABLED,
      loginPerUsername: e.RATE_LIMIT_LOGIN_USERNAME,
      loginPerIp: e.RATE_LIMIT_LOGIN_IP,
      signupPerIp: e.RATE_LIMIT_SIGNUP_IP,
      resendVerificationPerUser: e.RATE_LIMIT_RESEND_VERIFICATION,
      transfersPerUser: e.RATE_LIMIT_TRANSFERS,
    },
  };
}
