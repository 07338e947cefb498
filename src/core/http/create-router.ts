import { OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import { type FieldViolation, ValidationError } from "../domain/errors.ts";
import type { AppEnv } from "./env.ts";
import { problems } from "./openapi/responses.ts";

/**
 * Every router of the app comes from here, so every route validates the same way: a failed
 * validation throws ONE ValidationError listing every bad field by its request name (unknown
 * query parameters included), which the error handler turns into problem+json.
 */
export function createRouter() {
  const router = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new ValidationError(violationsOf(result.error, result.target));
    },
  });
  // Every route's query takes only the parameters it documents (contract, Conventions: unknown
  // query parameters, like unknown body fields, are 400 naming them); a route without a query
  // takes none. The document shows the route as defined, with that 400 among its responses;
  // only its validator is the strict one.
  const register = router.openapi;
  router.openapi = ((route, handler, hook) => {
    const { middleware: _middleware, hide, ...documented } = route;
    const responses = { 400: problems(400)[400], ...documented.responses };
    if (!hide) router.openAPIRegistry.registerPath({ ...documented, responses });
    const request = { ...route.request, query: onlyKnownParameters(route.request?.query) };
    return register({ ...route, hide: true, request }, handler, hook);
  }) as typeof register;
  return router;
}

/**
 * The names a query schema reads: an object's keys (through a pipe, both ends'). Any other
 * shape is refused when the route is registered, not answered with 400s at run time.
 */
function parameterNames(schema: unknown): string[] {
  if (schema instanceof z.ZodObject) return Object.keys(schema.shape);
  if (schema instanceof z.ZodPipe) {
    const ends = [schema.in, schema.out].filter(
      (end) => end instanceof z.ZodObject || end instanceof z.ZodPipe,
    );
    if (ends.length > 0) return [...new Set(ends.flatMap(parameterNames))];
  }
  throw new Error("a route's query must be a z.object (or a pipe into or out of one)");
}

/**
 * `query` (or nothing), refusing every parameter it does not name: each unknown one becomes an
 * `unrecognized_keys` issue, reported together with the known parameters' own issues.
 */
function onlyKnownParameters(query: z.ZodType | undefined): z.ZodType {
  const schema = query ?? z.object({});
  const known = new Set(parameterNames(schema));
  return z.unknown().transform(async (input, ctx) => {
    const given =
      typeof input === "object" && input !== null ? (input as Record<string, unknown>) : {};
    const unknown = Object.keys(given).filter((name) => !known.has(name));
    if (unknown.length > 0)
      ctx.addIssue({ code: "unrecognized_keys", keys: unknown, input: given });
    const result = await schema.safeParseAsync(input);
    if (result.success) return result.data;
    for (const issue of result.error.issues) ctx.addIssue({ ...issue, input: undefined });
    return z.NEVER;
  });
}

export type AppRouteHandler<R extends RouteConfig, E extends AppEnv = AppEnv> = RouteHandler<R, E>;

const UNKNOWN: Record<string, string> = { query: "is not a known query parameter" };

/** One violation per field, named as the client sent it (dotted path for nested fields). */
function violationsOf(error: ZodError, target: string): FieldViolation[] {
  const byField = new Map<string, string>();
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const field = [...issue.path, key].join(".");
        if (!byField.has(field)) byField.set(field, UNKNOWN[target] ?? "is not a known field");
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
