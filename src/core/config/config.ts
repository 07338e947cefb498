import { z } from "zod";
import {
  RATE_LIMIT_NAMES,
  RATE_LIMITS,
  type RateLimitRule,
  type RateLimitRules,
  rateLimitVariable,
} from "../domain/rate-limits.ts";
import { parseDuration } from "../lib/duration.ts";
import {
  boolean,
  type ConfigProblem,
  duration,
  type Environment,
  httpUrl,
  integer,
  isUrl,
  logLevel,
  nodeEnv,
  oneOf,
  parseEnvironment,
} from "./environment.ts";

export { ConfigError } from "./environment.ts";

/**
 * The one place that reads the environment. `loadConfig(process.env)` is called once at
 * start-up (server, worker, CLI) or once per isolate (the Worker's env); everything else
 * receives the typed `Config`, whose shape is the schema's output.
 */

/** Used only outside production so `bun run dev` works with nothing set. Never valid in production. */
export const DEVELOPMENT_TOKEN_KEY = "dev-only-insecure-key-0123456789";

/** A rate limit as `<requests>/<window>`, e.g. `5/15m`. */
const rateLimit = (fallback: string) =>
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
          message: "must be <requests>/<window> such as 5/15m or 60/1m (a window of at least 1s)",
        });
        return z.NEVER;
      }
      return { limit, windowMs };
    });

/** RATE_LIMIT_<NAME> for every limit of domain/rate-limits.ts. */
const rateLimitVariables = Object.fromEntries(
  RATE_LIMIT_NAMES.map((name) => [rateLimitVariable(name), rateLimit(RATE_LIMITS[name].fallback)]),
) as Record<string, ReturnType<typeof rateLimit>>;

/** Every variable, by name (the README's table and .env.example say what each means). */
const variables = {
  NODE_ENV: nodeEnv,
  PORT: integer(0, 65535, 8080),
  /**
   * Lets several server processes listen on PORT together (SO_REUSEPORT; the kernel spreads
   * connections among them): one process per core on a machine of several.
   */
  HTTP_REUSE_PORT: boolean(false),
  /** Native gRPC (HTTP/2) of the Bun server; Connect and gRPC-Web are also on PORT. */
  GRPC_PORT: integer(0, 65535, 9090),
  /** PEM files: both set, native gRPC speaks TLS; neither, h2c (plain HTTP/2). */
  GRPC_TLS_CERT: z.string().optional(),
  GRPC_TLS_KEY: z.string().optional(),
  /** Unset: the embedded PostgreSQL (never in production). */
  DATABASE_URL: z
    .string()
    .refine((value) => /^postgres(ql)?:\/\/./.test(value) && isUrl(value), {
      error: "must be a postgres:// or postgresql:// URL",
    })
    .optional(),
  DATABASE_POOL_MAX: integer(1, 1000, 10),
  /**
   * At most this many concurrent transfers share one transaction (group commit: those arriving
   * while a group is in its transaction form the next); 1: each transfer in its own.
   */
  TRANSFER_GROUP_MAX: integer(1, 1000, 32),
  EMBEDDED_POSTGRES_DIR: z.string().default(".data/postgres"),
  TOKEN_SYMMETRIC_KEY: z
    .string()
    .refine((value) => new TextEncoder().encode(value).length === 32, {
      error: "must be exactly 32 bytes",
    })
    .default(DEVELOPMENT_TOKEN_KEY),
  /** PASETO v4.local (default) or JWT HS256. */
  TOKEN_TYPE: oneOf(["paseto", "jwt"], "paseto"),
  /** Milliseconds. */
  ACCESS_TOKEN_DURATION: duration("15m"),
  /** Milliseconds: a session's lifetime. */
  REFRESH_TOKEN_DURATION: duration("24h"),
  /**
   * Milliseconds after a rotation during which the refresh token it retired may be presented
   * once more for a fresh pair (a renewal whose response was lost); 0: strict.
   */
  REFRESH_TOKEN_REUSE_INTERVAL: duration("10s", { allowZero: true }),
  BCRYPT_COST: integer(4, 31, 10),
  /** Proxies in front whose X-Forwarded-For entries are trusted (0: none). */
  TRUST_PROXY: z
    .string()
    .default("false")
    .transform((value, ctx) => {
      if (value === "false") return 0;
      if (value === "true") return 1;
      if (/^[0-9]{1,2}$/.test(value)) return Number(value);
      ctx.addIssue({
        code: "custom",
        message: "must be false, true or the number of proxies in front (0 to 99)",
      });
      return z.NEVER;
    }),
  /** Origins allowed by CORS (with credentials). */
  ALLOWED_ORIGINS: z
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
  LOG_LEVEL: logLevel,
  /** Milliseconds that in-flight requests and jobs get to finish on SIGTERM / SIGINT. */
  SHUTDOWN_TIMEOUT: duration("10s"),
  WORKER_ENABLED: boolean(true),
  WORKER_CONCURRENCY: integer(1, 100, 4),
  /** Unset: emails are written to the log (development). */
  RESEND_API_KEY: z.string().optional(),
  RESEND_BASE_URL: httpUrl("https://api.resend.com"),
  EMAIL_FROM: z
    .string()
    .default("Simple Bank <no-reply@simplebank.localhost>")
    .refine((value) => /^([^<>]+<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/.test(value), {
      error: 'must be an address such as "Simple Bank <no-reply@example.com>"',
    }),
  /** Verification links are `${APP_BASE_URL}/verify_email?...`; default: this server on PORT. */
  APP_BASE_URL: httpUrl(),
  /** Redis over HTTP (Upstash REST), with its token. Unset: revocations from the database. */
  UPSTASH_REDIS_REST_URL: httpUrl(),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  REDIS_KEY_PREFIX: z
    .string()
    .regex(/^[\x21-\x7e]{1,64}$/, {
      error: "must be 1 to 64 printable ASCII characters without spaces",
    })
    .default("simplebank:"),
  RATE_LIMIT_ENABLED: boolean(true),
  ...rateLimitVariables,
};

/** Every variable the configuration reads. */
export const CONFIG_VARIABLES = Object.keys(variables);

/** The variables as the code uses them (grouped, with what follows from several of them). */
const schema = z.object(variables).transform((e) => ({
  nodeEnv: e.NODE_ENV,
  port: e.PORT,
  httpReusePort: e.HTTP_REUSE_PORT,
  grpc: {
    port: e.GRPC_PORT,
    tls:
      e.GRPC_TLS_CERT && e.GRPC_TLS_KEY
        ? { certFile: e.GRPC_TLS_CERT, keyFile: e.GRPC_TLS_KEY }
        : undefined,
  },
  databaseUrl: e.DATABASE_URL,
  databasePoolMax: e.DATABASE_POOL_MAX,
  transferGroupMax: e.TRANSFER_GROUP_MAX,
  embeddedPostgresDir: e.EMBEDDED_POSTGRES_DIR,
  tokenSymmetricKey: e.TOKEN_SYMMETRIC_KEY,
  tokenType: e.TOKEN_TYPE,
  accessTokenDuration: e.ACCESS_TOKEN_DURATION,
  refreshTokenDuration: e.REFRESH_TOKEN_DURATION,
  refreshTokenReuseInterval: e.REFRESH_TOKEN_REUSE_INTERVAL,
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
  /** Every key starts with `keyPrefix`: deployments sharing one Redis never read each other's. */
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
    rules: Object.fromEntries(
      RATE_LIMIT_NAMES.map((name) => [
        name,
        (e as Record<string, unknown>)[rateLimitVariable(name)] as RateLimitRule,
      ]),
    ) as RateLimitRules,
  },
}));

export type Config = z.output<typeof schema>;

/**
 * Production must not silently fall back to anything unsafe. Checked on the variables apart
 * from the schema, so a bad PORT does not hide a missing DATABASE_URL.
 */
function productionProblems(env: Environment): ConfigProblem[] {
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

/** Variables that only make sense together: Redis's URL and token, gRPC's certificate and key. */
function pairProblems(env: Environment): ConfigProblem[] {
  const pairs: [string, string][] = [
    ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
    ["GRPC_TLS_CERT", "GRPC_TLS_KEY"],
  ];
  return pairs.flatMap(([first, second]) => {
    if (Boolean(env[first]) === Boolean(env[second])) return [];
    const [given, missing] = env[first] ? [first, second] : [second, first];
    return [{ variable: missing, message: `is required when ${given} is set` }];
  });
}

/** Parses the environment; throws one `ConfigError` naming every bad variable. */
export function loadConfig(env: Environment): Config {
  return parseEnvironment(schema, env, [productionProblems, pairProblems]);
}
