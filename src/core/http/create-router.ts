import { OpenAPIHono, type RouteConfig, type RouteHandler } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import { type FieldViolation, ValidationError } from "../domain/errors.ts";
import type { AppEnv } from "./env.ts";

/**
 * Every router of the app comes from here, so every route validates the same way: a failed
 * validation throws ONE ValidationError listing every bad field by its request name, which
 * the error handler turns into problem+json.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new ValidationError(violationsOf(result.error, result.target));
    },
  });
}

export type AppRouteHandler<R extends RouteConfig, E extends AppEnv = AppEnv> = RouteHandler<R, E>;

/** One violation per field, named as the client sent it (dotted path for nested fields). */
function violationsOf(error: ZodError, target: string): FieldViolation[] {
  const byField = new Map<string, string>();
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const field = [...issue.path, key].join(".");
        if (!byField.has(field)) byField.set(field, "is not a known field");
      }
      continue;
    }
    const field = fieldName(issue.path, target);
    const message =
      issue.path.length === 0 && issue.code === "invalid_type"
        ? "must be a JSON object"
        : issue.message;
    if (!byField.has(field)) byField.set(field, message);
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

function fieldName(path: PropertyKey[], target: string): string {
  if (path.length === 0) return target === "json" ? "(body)" : `(${target})`;
  const name = path.map(String).join(".");
  // Header names arrive lower-cased; name them as documented (Idempotency-Key).
  return target === "header"
    ? name.replace(/(^|-)([a-z])/g, (_, dash, c) => dash + c.toUpperCase())
    : name;
}
