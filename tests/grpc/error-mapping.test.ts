import { describe, expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import { ERROR_CODES, ERROR_KINDS, kindOf } from "../../src/core/domain/error-codes.ts";
import {
  BusinessRuleError,
  ConflictError,
  NotFoundError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from "../../src/core/domain/errors.ts";
import { int64, int64Fields, pageOf } from "../../src/core/grpc/convert.ts";
import {
  ERROR_DOMAIN,
  GRPC_CODE_OF_ERROR_CODE,
  GRPC_CODE_OF_KIND,
  grpcCodeOf,
  grpcFailure,
} from "../../src/core/grpc/errors.ts";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "../../src/core/grpc/gen/google/rpc/error_details_pb.ts";
import { STATUS_OF_KIND, statusOf } from "../../src/core/http/problem.ts";
import { captureLogs } from "../support/logs.ts";
import { PROJECT_ROOT } from "../support/process.ts";

/**
 * The one table of error codes, seen by both transports: every code has an HTTP status and a
 * gRPC code, both from its kind, and the two agree (the pairs are those of gRPC's own HTTP
 * mapping, or of this API's documented choices). The statuses carry google.rpc details.
 */

/** What each HTTP status may be in gRPC: the status → code pairs this API stands by. */
const GRPC_CODES_OF_STATUS: Record<number, Code[]> = {
  400: [Code.InvalidArgument],
  401: [Code.Unauthenticated],
  403: [Code.PermissionDenied],
  404: [Code.NotFound],
  405: [Code.Unimplemented],
  409: [Code.AlreadyExists, Code.Aborted],
  413: [Code.ResourceExhausted],
  415: [Code.InvalidArgument],
  422: [Code.FailedPrecondition],
  429: [Code.ResourceExhausted],
  500: [Code.Internal],
  503: [Code.Unavailable],
};

describe("the error table on both transports", () => {
  test("every kind has an HTTP status and a gRPC code", () => {
    expect(Object.keys(GRPC_CODE_OF_KIND).sort()).toEqual([...ERROR_KINDS].sort());
    expect(Object.keys(STATUS_OF_KIND).sort()).toEqual([...ERROR_KINDS].sort());
  });

  test("every code maps to an HTTP status and a gRPC code, consistently by kind", () => {
    const table = ERROR_CODES.map((code) => ({
      code,
      kind: kindOf(code),
      http: statusOf(code),
      grpc: Code[grpcCodeOf(code)],
    }));
    for (const row of table) {
      expect({ ...row, agrees: GRPC_CODES_OF_STATUS[row.http]?.map((c) => Code[c]) }).toEqual({
        ...row,
        agrees: expect.arrayContaining([row.grpc]),
      });
      // A code's gRPC code is its kind's, unless the table names the code itself.
      const own = (GRPC_CODE_OF_ERROR_CODE as Record<string, Code>)[row.code];
      expect({ code: row.code, grpc: grpcCodeOf(row.code) }).toEqual({
        code: row.code,
        grpc: own ?? GRPC_CODE_OF_KIND[row.kind],
      });
      expect({ code: row.code, http: row.http }).toEqual({
        code: row.code,
        http: STATUS_OF_KIND[row.kind],
      });
    }
    // The codes the table names are real codes.
    for (const code of Object.keys(GRPC_CODE_OF_ERROR_CODE)) {
      expect(ERROR_CODES as readonly string[]).toContain(code);
    }
    // The kinds this API's clients meet most, spelled out.
    const grpcOf = Object.fromEntries(table.map((row) => [row.code, row.grpc]));
    expect(grpcOf).toMatchObject({
      validation_failed: "InvalidArgument",
      unauthenticated: "Unauthenticated",
      token_expired: "Unauthenticated",
      forbidden: "PermissionDenied",
      not_found: "NotFound",
      username_taken: "AlreadyExists",
      idempotency_in_progress: "Aborted",
      insufficient_funds: "FailedPrecondition",
      rate_limited: "ResourceExhausted",
      unavailable: "Unavailable",
      internal: "Internal",
    });
  });
});

describe("grpcFailure: the status and details of each error", () => {
  const { logger, lines } = captureLogs({ level: "warn" });

  test("every domain error carries ErrorInfo{reason: its code, domain: simplebank}", () => {
    const errors = [
      new ValidationError([{ field: "amount", message: "must be positive" }]),
      new UnauthenticatedError("token_expired", "token has expired"),
      new NotFoundError("account"),
      new ConflictError("username_taken", "taken"),
      new ConflictError("idempotency_in_progress", "running"),
      new BusinessRuleError("insufficient_funds", "too little"),
      new RateLimitedError(7, 5),
      new UnavailableError(),
    ];
    for (const error of errors) {
      const { status, code } = grpcFailure(error, logger);
      expect(code).toBe(error.code);
      expect(status.code).toBe(grpcCodeOf(error.code));
      expect(status.rawMessage).toBe(error.message);
      expect(status.findDetails(ErrorInfoSchema)).toEqual([
        expect.objectContaining({ reason: error.code, domain: ERROR_DOMAIN }),
      ]);
    }
  });

  test("invalid: BadRequest lists every field; rate limited and unavailable: RetryInfo", () => {
    const invalid = grpcFailure(
      new ValidationError([
        { field: "from_account_id", message: "must be at least 1" },
        { field: "currency", message: "must be one of USD, EUR, CAD" },
      ]),
      logger,
    ).status;
    expect(invalid.code).toBe(Code.InvalidArgument);
    expect(invalid.findDetails(BadRequestSchema)[0]).toMatchObject({
      fieldViolations: [
        { field: "from_account_id", description: "must be at least 1" },
        { field: "currency", description: "must be one of USD, EUR, CAD" },
      ],
    });
    const limited = grpcFailure(new RateLimitedError(42, 5), logger).status;
    expect(limited.code).toBe(Code.ResourceExhausted);
    expect(limited.findDetails(RetryInfoSchema)[0]).toMatchObject({ retryDelay: { seconds: 42n } });
    const down = grpcFailure(new UnavailableError(), logger).status;
    expect(down.code).toBe(Code.Unavailable);
    expect(down.findDetails(RetryInfoSchema)[0]).toMatchObject({ retryDelay: { seconds: 5n } });
  });

  test("a database outage is Unavailable; a bug is Internal with no detail but its code, and logged", () => {
    const outage = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), {
      code: "ECONNREFUSED",
    });
    const down = grpcFailure(outage, logger);
    expect(down.status.code).toBe(Code.Unavailable);
    expect(down.code).toBe("unavailable");
    const bug = grpcFailure(new TypeError("secret internals"), logger);
    expect(bug.status.code).toBe(Code.Internal);
    expect(bug.status.rawMessage).not.toContain("secret");
    expect(bug.status.details).toHaveLength(1);
    expect(bug.status.findDetails(ErrorInfoSchema)[0]).toMatchObject({ reason: "internal" });
    expect(lines.map((line) => line.msg)).toEqual(["database unavailable", "unhandled error"]);
    // The outage is expected: a warning with its reason, no stack; the bug has its stack.
    expect(lines[0]).toMatchObject({
      level: "warn",
      reason: "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:5432",
    });
    expect(lines[0]?.error).toBeUndefined();
    expect(lines[1]).toMatchObject({ level: "error" });
    // The protocol's own errors pass unchanged.
    const deadline = new ConnectError("deadline", Code.DeadlineExceeded);
    expect(grpcFailure(deadline, logger)).toEqual({ status: deadline });
  });
});

describe("converters", () => {
  test("int64 ⇄ number: exact within ±(2^53 − 1), InvalidArgument naming each field beyond", () => {
    expect(int64Fields({ id: 42n, amount: -9007199254740991n })).toEqual({
      id: 42,
      amount: -9007199254740991,
    });
    expect(int64(9007199254740991)).toBe(9007199254740991n);
    try {
      int64Fields({ id: 9007199254740992n, amount: 1n, to: -9007199254740992n });
      throw new Error("no error");
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).violations.map((v) => v.field)).toEqual(["id", "to"]);
    }
  });

  test("page 0 (proto3's unset) is the default page", () => {
    expect(pageOf({ pageId: 0, pageSize: 0 })).toEqual({ pageId: 1, pageSize: 10 });
    expect(pageOf({ pageId: 3, pageSize: 0 })).toEqual({ pageId: 3, pageSize: 10 });
    expect(pageOf({ pageId: -1, pageSize: 500 })).toEqual({ pageId: -1, pageSize: 500 });
  });
});

describe("the vendored gRPC protocols", () => {
  test("proto/grpc/reflection is @grpc/reflection's reflection.proto, byte for byte (v1 and v1alpha)", async () => {
    const shipped = path.dirname(
      fileURLToPath(import.meta.resolve("@grpc/reflection/package.json")),
    );
    for (const version of ["v1", "v1alpha"]) {
      const file = `grpc/reflection/${version}/reflection.proto`;
      const [ours, theirs] = await Promise.all([
        readFile(path.join(PROJECT_ROOT, "proto", file), "utf8"),
        readFile(path.join(shipped, "build/proto", file), "utf8"),
      ]);
      expect({ file, same: ours === theirs }).toEqual({ file, same: true });
    }
  });
});
