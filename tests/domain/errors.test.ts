import { beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import {
  type CodeOfKind,
  codesOfKind,
  ERROR_CODES,
  ERROR_KINDS,
  ERROR_TABLE,
  type ErrorCode,
  kindOf,
} from "../../src/core/domain/error-codes.ts";
import {
  BusinessRuleError,
  ConflictError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  RecipientNotFoundError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from "../../src/core/domain/errors.ts";
import type { AppEnv } from "../../src/core/http/env.ts";
import { codesOfStatus, problemDescription } from "../../src/core/http/openapi/responses.ts";
import { errorResponse, type ProblemStatus, STATUS_OF_KIND } from "../../src/core/http/problem.ts";
import { call, callOn, expectProblem, type Reply } from "../support/app.ts";

/**
 * The one table of error codes (src/core/domain/error-codes.ts) and everything derived from it:
 * every code has a kind, a title and a meaning; every kind an HTTP status; the status the
 * problem catalogue shows (the OpenAPI description's table, /problems/<code>) is the status
 * problem+json answers for that code; each status's documented codes are exactly its kind's.
 */

const ALL_STATUSES = [...new Set(Object.values(STATUS_OF_KIND))].sort((a, b) => a - b);

/** Through the kind's HTTP status, independently of the code under test. */
const expectedStatus = (code: ErrorCode): number => STATUS_OF_KIND[ERROR_TABLE[code].kind];

/** An error of `code` from the domain subclass that carries it, where there is one. */
function subclassError(code: ErrorCode): DomainError | undefined {
  switch (kindOf(code)) {
    case "invalid":
      return code === "validation_failed"
        ? new ValidationError([{ field: "amount", message: "must be positive" }])
        : undefined;
    case "unauthenticated":
      return new UnauthenticatedError(code as CodeOfKind<"unauthenticated">);
    case "forbidden":
      return new ForbiddenError("not yours");
    case "not_found":
      return code === "recipient_not_found"
        ? new RecipientNotFoundError("bob", "EUR")
        : new NotFoundError("account");
    case "conflict":
      return new ConflictError(code as CodeOfKind<"conflict">, "taken");
    case "business_rule":
      return new BusinessRuleError(code as CodeOfKind<"business_rule">, "against the rules");
    case "rate_limited":
      return new RateLimitedError(7, 10);
    case "unavailable":
      return new UnavailableError();
    default:
      return undefined; // transport-level codes: no domain error carries them
  }
}

/** A bare app whose only handler throws what it is given, answered by the real error handler. */
function throwingApp() {
  const thrown: unknown[] = [];
  const app = new Hono<AppEnv>();
  app.get("/throw/:i", (c) => {
    throw thrown[Number(c.req.param("i"))];
  });
  app.onError((error, c) => errorResponse(c, error));
  return {
    async answer(error: unknown): Promise<Reply> {
      thrown.push(error);
      return callOn(app, "GET", `/throw/${thrown.length - 1}`);
    },
  };
}

describe("the table", () => {
  test("ERROR_CODES is the table's codes, each once, in the table's order", () => {
    expect([...ERROR_CODES]).toEqual(Object.keys(ERROR_TABLE) as ErrorCode[]);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });

  test("every code has a known kind, a title and a meaning", () => {
    for (const code of ERROR_CODES) {
      const spec = ERROR_TABLE[code];
      expect({ code, kind: ERROR_KINDS.includes(spec.kind) }).toEqual({ code, kind: true });
      expect({ code, title: spec.title.trim().length > 0 }).toEqual({ code, title: true });
      expect({ code, meaning: spec.meaning.trim().length > 0 }).toEqual({ code, meaning: true });
      expect(spec.meaning).toEndWith(".");
    }
  });

  test("every kind has exactly one HTTP status (4xx/5xx), and one code at least", () => {
    expect(Object.keys(STATUS_OF_KIND).sort()).toEqual([...ERROR_KINDS].sort());
    for (const kind of ERROR_KINDS) {
      const status = STATUS_OF_KIND[kind];
      expect({ kind, status: Number.isInteger(status) && status >= 400 && status <= 599 }).toEqual({
        kind,
        status: true,
      });
      expect({ kind, codes: codesOfKind(kind).length > 0 }).toEqual({ kind, codes: true });
    }
  });

  test("no two codes share a title", () => {
    const titles = ERROR_CODES.map((code) => ERROR_TABLE[code].title);
    expect(new Set(titles).size).toBe(titles.length);
  });
});

describe("domain errors", () => {
  test("each subclass takes its kind's codes, and its kind is always its code's", () => {
    for (const code of ERROR_CODES) {
      const error = subclassError(code);
      if (!error) continue;
      expect({ code: error.code, kind: error.kind }).toEqual({ code, kind: kindOf(code) });
    }
    // tsc (bun run typecheck) refuses another kind's code: the directive fails if it compiles.
    // @ts-expect-error a conflict cannot carry a business-rule (422) code
    const wrong = new ConflictError("insufficient_funds", "x");
    // And were it forced, the kind still comes from the code, never from the class.
    expect(wrong.kind as string).toBe("business_rule");
  });

  test("the codes without a domain subclass are the transport's", () => {
    const without = ERROR_CODES.filter((code) => !subclassError(code));
    expect(without).toEqual([
      "malformed_json",
      "payload_too_large",
      "unsupported_media_type",
      "method_not_allowed",
      "internal",
    ]);
  });
});

describe("problem+json answers each code with its kind's status", () => {
  test("an error of each code, through the real error handler (errorResponse)", async () => {
    const app = throwingApp();
    for (const code of ERROR_CODES) {
      const errors = [new DomainError(code, `a ${code}`), subclassError(code)];
      for (const error of errors.filter((e) => e !== undefined)) {
        const reply = await app.answer(error);
        expectProblem(reply, expectedStatus(code), code);
        expect((reply.body as { title: string }).title).toBe(ERROR_TABLE[code].title);
      }
    }
    // Anything that is not a domain error is `internal`.
    expectProblem(await app.answer(new Error("boom")), expectedStatus("internal"), "internal");
  });

  test("the transport-level codes, from the app itself", async () => {
    const json = { "Content-Type": "application/json" };
    expectProblem(
      await call("POST", "/users", { body: "{not json", headers: json }),
      expectedStatus("malformed_json"),
      "malformed_json",
    );
    expectProblem(
      await call("POST", "/users", { body: "{}", headers: json }),
      expectedStatus("validation_failed"),
      "validation_failed",
    );
    expectProblem(
      await call("POST", "/users", { body: "x", headers: { "Content-Type": "text/plain" } }),
      expectedStatus("unsupported_media_type"),
      "unsupported_media_type",
    );
    expectProblem(
      await call("POST", "/users", { body: "x".repeat(65 * 1024), headers: json }),
      expectedStatus("payload_too_large"),
      "payload_too_large",
    );
    expectProblem(
      await call("DELETE", "/users"),
      expectedStatus("method_not_allowed"),
      "method_not_allowed",
    );
    expectProblem(await call("GET", "/no/such/route"), expectedStatus("not_found"), "not_found");
    expectProblem(
      await call("GET", "/users/me"),
      expectedStatus("unauthenticated"),
      "unauthenticated",
    );
  });
});

/** What /openapi.json says: the description (with the catalogue), every operation's responses. */
let description = "";
let responses: { status: string; description: string }[] = [];
beforeAll(async () => {
  const reply = await call<{
    info: { description: string };
    paths: Record<string, Record<string, { responses?: Record<string, { description: string }> }>>;
  }>("GET", "/openapi.json");
  expect(reply.status).toBe(200);
  description = reply.body.info.description;
  responses = Object.values(reply.body.paths)
    .flatMap((item) => Object.values(item))
    .flatMap((operation) => Object.entries(operation.responses ?? {}))
    .map(([status, response]) => ({ status, description: response.description }));
});

describe("the catalogue shows the status problem+json answers", () => {
  test("the description's table: one row per code, its status, its meaning, by status", async () => {
    const rows = [...description.matchAll(/^\| (\d{3}) \| `(\w+)` \| (.*) \|$/gm)].map((m) => ({
      status: Number(m[1]),
      code: m[2] as ErrorCode,
      meaning: m[3],
    }));
    const app = throwingApp();
    for (const row of rows) {
      const answered = await app.answer(new DomainError(row.code, "x"));
      expect({ code: row.code, status: row.status }).toEqual({
        code: row.code,
        status: answered.status,
      });
      expect(row.meaning).toBe(ERROR_TABLE[row.code].meaning);
    }
    // Every code once, by status, then in the table's order.
    const byStatus = [...ERROR_CODES].sort((a, b) => expectedStatus(a) - expectedStatus(b));
    expect(rows.map((row) => row.code)).toEqual(byStatus);
  });

  test("each /problems/<code> page names the status and title of its code", async () => {
    const app = throwingApp();
    for (const code of ERROR_CODES) {
      const page = String((await call("GET", `/problems/${code}`)).body);
      const answered = await app.answer(new DomainError(code, "x"));
      expect({ code, shown: page.match(/HTTP (\d{3})/)?.[1] }).toEqual({
        code,
        shown: String(answered.status),
      });
      expect(page).toContain(`<h1>${ERROR_TABLE[code].title}</h1>`);
    }
  });
});

describe("each status's description lists exactly its kind's codes", () => {
  const mentioned = (text: string) =>
    [...text.matchAll(/`(\w+)`/g)]
      .map((m) => m[1] as ErrorCode)
      .filter((word) => ERROR_CODES.includes(word));

  test("every status, as responses.ts describes it", () => {
    for (const status of ALL_STATUSES) {
      const own = ERROR_CODES.filter((code) => expectedStatus(code) === status);
      expect({ status, codes: codesOfStatus(status) }).toEqual({ status, codes: own });
      expect({ status, codes: mentioned(problemDescription(status)) }).toEqual({
        status,
        codes: own,
      });
    }
  });

  test("every error response of every operation in /openapi.json", () => {
    const errorResponses = responses.filter((r) => /^[45]\d\d$/.test(r.status));
    expect(errorResponses.length).toBeGreaterThan(50);
    const wrong = errorResponses.flatMap(({ status, description }) => {
      const own = ERROR_CODES.filter((code) => expectedStatus(code) === Number(status));
      const listed = mentioned(description);
      return listed.join() === own.join() ? [] : [`${status}: ${listed.join()} (not ${own})`];
    });
    expect(wrong).toEqual([]);
    // And every status the document uses is one a kind has.
    for (const { status } of errorResponses) {
      expect(ALL_STATUSES).toContain(Number(status) as ProblemStatus);
    }
  });
});
