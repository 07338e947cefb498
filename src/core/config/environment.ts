import { z } from "zod";
import { parseDuration } from "../lib/duration.ts";

/**
 * Reading configuration from environment variables: one pass that treats empty values as unset,
 * one zod schema keyed by the variables' names, and every problem reported at once, named by
 * its variable. The bank's configuration (config.ts) and the development tools' use it.
 */

export interface ConfigProblem {
  variable: string;
  message: string;
  /**
   * The value as it may be shown (secrets `<redacted>`, a URL's password too); absent when
   * the variable is unset.
   */
  value?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `Invalid configuration (${problems.length} variable${problems.length === 1 ? "" : "s"}):\n${problems
        .map((p) => `  - ${p.variable}${p.value === undefined ? "" : `=${p.value}`}: ${p.message}`)
        .join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

export type Environment = Record<string, string | undefined>;

/** Variables whose values are never echoed: keys, tokens, passwords, secrets. */
const SECRET_VARIABLE = /(KEY|TOKEN|PASSWORD|SECRET)$/;
const SHOWN_LENGTH = 100;

/**
 * How a variable's value may appear in an error message or a log: a secret variable's as
 * `<redacted>`, a password inside a URL (`user:password@`, `?password=`) as `<redacted>`, and
 * anything very long cut short.
 */
function shownValue(variable: string, value: string): string {
  if (SECRET_VARIABLE.test(variable)) return "<redacted>";
  const shown = value
    .replace(/(\/\/[^/?#@:]*:)[^/?#@]*@/, "$1<redacted>@")
    .replace(/([?&]password=)[^&#]*/gi, "$1<redacted>");
  return JSON.stringify(
    shown.length > SHOWN_LENGTH ? `${shown.slice(0, SHOWN_LENGTH)}…` : shown,
  ).slice(1, -1);
}

/**
 * Parses `env` with `schema` (keyed by variable names) after dropping empty values; `rules`
 * look at the variables together (what production requires, what must come in pairs) and add
 * their problems to the schema's, one per variable. Throws one ConfigError naming them all,
 * each with its value as it may be shown (shownValue).
 */
export function parseEnvironment<Schema extends z.ZodType>(
  schema: Schema,
  env: Environment,
  rules: ((env: Environment) => ConfigProblem[])[] = [],
): z.output<Schema> {
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const parsed = schema.safeParse(set);
  const problems: ConfigProblem[] = (parsed.error?.issues ?? []).map((issue) => ({
    variable: String(issue.path[0] ?? "(environment)"),
    message: issue.message,
  }));
  for (const problem of rules.flatMap((rule) => rule(set))) {
    if (!problems.some((p) => p.variable === problem.variable)) problems.push(problem);
  }
  for (const problem of problems) {
    const value = set[problem.variable];
    if (value !== undefined) problem.value = shownValue(problem.variable, value);
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

/** Whether `text` parses as a URL (URL.canParse, which not every runtime has yet). */
export function isUrl(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

// ---- variable kinds ----------------------------------------------------------------------

export const integer = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: "must be an integer" })
    .int({ error: "must be an integer" })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` })
    .default(fallback);

/**
 * A Go-style duration ("15m", "24h", "1h30m") in milliseconds; with `allowZero`, also "0"
 * (or "0s"), which turns the feature off.
 */
export const duration = (fallback: string, options: { allowZero?: boolean } = {}) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = options.allowZero && value === "0" ? 0 : parseDuration(value);
      if (ms === undefined || (ms <= 0 && !(options.allowZero && ms === 0))) {
        ctx.addIssue({
          code: "custom",
          message: options.allowZero
            ? "must be a duration such as 10s or 1m, or 0 to turn it off"
            : "must be a positive duration such as 15m, 24h or 1h30m",
        });
        return z.NEVER;
      }
      return ms;
    });

export const boolean = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"], { error: "must be true or false" })
    .default(fallback ? "true" : "false")
    .transform((value) => value === "true" || value === "1");

/** An http(s) URL without trailing slashes; optional unless it has a fallback. */
export const httpUrl = (fallback?: string) =>
  (fallback === undefined ? z.string() : z.string().default(fallback))
    .refine((value) => /^https?:\/\/./.test(value) && isUrl(value), {
      error: "must be an http:// or https:// URL",
    })
    .transform((value) => value.replace(/\/+$/, ""))
    .optional();

/** One of `values` (exactly as written), or `fallback` when unset. */
export const oneOf = <const Values extends readonly [string, ...string[]]>(
  values: Values,
  fallback: Values[number],
) => z.enum(values, { error: `must be one of ${values.join(", ")}` }).default(fallback as never);

export const nodeEnv = oneOf(["development", "production", "test"], "development");

export const logLevel = oneOf(["debug", "info", "warn", "error"], "info");
