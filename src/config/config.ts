import { z } from "zod";
import { parseDuration } from "../lib/duration.ts";

/**
 * The one place that reads the environment. `loadConfig(process.env)` is called once at
 * start-up (server, worker, CLI); everything else receives the typed `Config`.
 */

/** Used only outside production so `bun run dev` works with nothing set. Never valid in production. */
export const DEVELOPMENT_TOKEN_KEY = "dev-only-insecure-key-0123456789";

export const emptyAsUnset = (value: unknown) => (value === "" ? undefined : value);

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
    .refine((value) => /^postgres(ql)?:\/\/./.test(value) && URL.canParse(value), {
      error: "must be a postgres:// or postgresql:// URL",
    })
    .optional(),
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
  ACCESS_TOKEN_DURATION: duration("15m"),
  REFRESH_TOKEN_DURATION: duration("24h"),
  LOG_LEVEL: logLevel,
});

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
  return problems;
}

export interface Config {
  nodeEnv: "development" | "production" | "test";
  port: number;
  /** Unset: start the embedded PostgreSQL (never in production). */
  databaseUrl: string | undefined;
  databasePoolMax: number;
  embeddedPostgresDir: string;
  tokenSymmetricKey: string;
  /** Milliseconds. */
  accessTokenDuration: number;
  /** Milliseconds. */
  refreshTokenDuration: number;
  logLevel: "debug" | "info" | "warn" | "error";
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
  for (const problem of productionProblems(env)) {
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
    accessTokenDuration: e.ACCESS_TOKEN_DURATION,
    refreshTokenDuration: e.REFRESH_TOKEN_DURATION,
    logLevel: e.LOG_LEVEL,
  };
}
