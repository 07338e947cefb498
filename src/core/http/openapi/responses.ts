import type { z } from "@hono/zod-openapi";
import { ERROR_CODES, type ErrorCode } from "../../domain/error-codes.ts";
import { type ProblemStatus, statusOf } from "../problem.ts";
import { problemExample } from "./problem-examples.ts";
import { ProblemSchema } from "./schemas.ts";

export type { ProblemStatus } from "../problem.ts";

/**
 * The error responses of a route, for its OpenAPI `responses`: each status with the problem
 * codes it can carry. Spread into every route so the document lists every error. The wording
 * is per status; the codes in it come from the table of codes (every code whose kind has that
 * status, in the table's order), so no list here can miss a code or hold another status's.
 */
const PROBLEM_WORDING: Record<ProblemStatus, (codes: string) => string> = {
  400: (codes) =>
    `Invalid request: ${codes} (a failed validation lists every bad field in \`errors\`)`,
  401: (codes) =>
    `Missing, malformed, expired, revoked or tampered token, or a failed login (${codes})`,
  403: (codes) =>
    `Authenticated but not allowed: another user's resource, or a role you do not have (${codes})`,
  404: (codes) => `No such resource (${codes})`,
  405: (codes) => `Known path, other method (${codes}); see the \`Allow\` header`,
  409: (codes) => `Conflict: ${codes}`,
  413: (codes) => `Body over 64 KiB (${codes})`,
  415: (codes) => `The body is not \`application/json\` (${codes})`,
  422: (codes) => `Well-formed but against a business rule: ${codes}`,
  429: (codes) => `Rate limited (${codes}); see \`Retry-After\``,
  500: (codes) =>
    `Unexpected error (${codes}); details are logged under the request id, never returned`,
  503: (codes) => `A dependency (the database) is unavailable (${codes}); see \`Retry-After\``,
};

/** The codes a status can carry, in the table's order. */
export function codesOfStatus(status: ProblemStatus): ErrorCode[] {
  return ERROR_CODES.filter((code) => statusOf(code) === status);
}

/** "`a`", "`a` or `b`", "`a`, `b`, or `c`". */
function codeList(codes: readonly ErrorCode[]): string {
  const quoted = codes.map((code) => `\`${code}\``);
  if (quoted.length <= 2) return quoted.join(" or ");
  return `${quoted.slice(0, -1).join(", ")}, or ${quoted.at(-1)}`;
}

/** The description of a status's error response. */
export function problemDescription(status: ProblemStatus): string {
  return PROBLEM_WORDING[status](codeList(codesOfStatus(status)));
}

const RetryAfter = {
  "Retry-After": {
    description: "Seconds to wait before retrying",
    schema: { type: "integer" as const },
  },
};

/** One example per code the status can carry, each of that status (Swagger UI: a menu). */
function problemExamples(status: ProblemStatus) {
  return Object.fromEntries(
    codesOfStatus(status).map((code) => [
      code,
      { summary: `${status} ${code}`, value: problemExample(code) },
    ]),
  );
}

function problemResponse(status: ProblemStatus) {
  return {
    description: problemDescription(status),
    content: {
      "application/problem+json": { schema: ProblemSchema, examples: problemExamples(status) },
    },
    ...(status === 429 || status === 503 ? { headers: RetryAfter } : {}),
  };
}

/** Every route can fail these ways. */
const ALWAYS: ProblemStatus[] = [500, 503];
/** Routes with a JSON body can also fail these ways. */
export const BODY_PROBLEMS: ProblemStatus[] = [400, 413, 415];
/** Routes behind `requireAuth`. */
export const AUTH_PROBLEMS: ProblemStatus[] = [401];

export function problems(...statuses: ProblemStatus[]) {
  const all = [...new Set([...statuses, ...ALWAYS])].sort((a, b) => a - b);
  return Object.fromEntries(all.map((status) => [status, problemResponse(status)])) as Record<
    ProblemStatus,
    ReturnType<typeof problemResponse>
  >;
}

/** A success response with a JSON body. */
export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** A required JSON request body. */
export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return {
    body: {
      required: true,
      ...(description ? { description } : {}),
      content: { "application/json": { schema } },
    },
  };
}

/** Cursor pagination's next page (RFC 8288), on lists that take `limit`/`starting_after`. */
export const NEXT_LINK_HEADER = {
  Link: {
    description:
      'With `limit` or `starting_after`, while more items follow: `<path?…&starting_after=<last id>>; rel="next"`',
    schema: { type: "string" as const },
  },
};
