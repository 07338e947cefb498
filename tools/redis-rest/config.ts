import { z } from "zod";
import {
  type ConfigProblem,
  type Environment,
  integer,
  logLevel,
  nodeEnv,
  parseEnvironment,
} from "../../src/core/config/environment.ts";
import { parseRedisUrl, RedisUrlError } from "./redis-url.ts";

/**
 * Configuration of the Upstash-compatible REST endpoint (`bun run redis:rest`), a development
 * and test stand-in for Upstash in front of a stock Redis. Read once by its entry point.
 */

/**
 * The bearer token outside production when REDIS_REST_TOKEN is unset: clients use
 * `new Redis({ url: "http://127.0.0.1:8079", token: "local-dev-token" })`. Never valid in
 * production.
 */
export const DEVELOPMENT_REDIS_REST_TOKEN = "local-dev-token";
const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

const schema = z
  .object({
    NODE_ENV: nodeEnv,
    /** The Redis the endpoint fronts. */
    REDIS_URL: z
      .string()
      .default(DEFAULT_REDIS_URL)
      .transform((value, ctx) => {
        try {
          return parseRedisUrl(value);
        } catch (error) {
          if (!(error instanceof RedisUrlError)) throw error;
          ctx.addIssue({ code: "custom", message: error.message });
          return z.NEVER;
        }
      }),
    REDIS_REST_HOST: z.string().default("127.0.0.1"),
    REDIS_REST_PORT: integer(0, 65535, 8079),
    REDIS_REST_TOKEN: z
      .string()
      .regex(/^\S+$/, { error: "must not contain spaces" })
      .default(DEVELOPMENT_REDIS_REST_TOKEN),
    LOG_LEVEL: logLevel,
  })
  .transform((e) => ({
    nodeEnv: e.NODE_ENV,
    redis: e.REDIS_URL,
    host: e.REDIS_REST_HOST,
    port: e.REDIS_REST_PORT,
    token: e.REDIS_REST_TOKEN,
    logLevel: e.LOG_LEVEL,
  }));

export type RedisRestConfig = z.output<typeof schema>;

function productionProblems(env: Environment): ConfigProblem[] {
  if (env.NODE_ENV !== "production") return [];
  if (env.REDIS_REST_TOKEN && env.REDIS_REST_TOKEN !== DEVELOPMENT_REDIS_REST_TOKEN) return [];
  return [
    {
      variable: "REDIS_REST_TOKEN",
      message: "is required in production (a long random secret, never the development token)",
    },
  ];
}

/** Parses the environment; throws one `ConfigError` naming every bad variable. */
export function loadRedisRestConfig(env: Environment): RedisRestConfig {
  return parseEnvironment(schema, env, [productionProblems]);
}
