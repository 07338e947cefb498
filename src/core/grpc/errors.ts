import { Code, ConnectError } from "@connectrpc/connect";
import { isUnavailableError } from "../db/errors.ts";
import { type ErrorCode, type ErrorKind, kindOf } from "../domain/error-codes.ts";
import {
  DomainError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from "../domain/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { errorSummary, type OutageLog } from "../lib/outage.ts";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
} from "./gen/google/rpc/error_details_pb.ts";

/**
 * THE mapping of errors to gRPC statuses (native gRPC, Connect and gRPC-Web alike): the gRPC
 * code comes from the code's kind in the one table of codes (src/core/domain/error-codes.ts),
 * through GRPC_CODE_OF_KIND, the twin of problem+json's STATUS_OF_KIND
 * (src/core/http/problem.ts). Every error carries `google.rpc.ErrorInfo` with the stable code
 * as its `reason`; validation errors add `google.rpc.BadRequest`, rate limits and outages
 * `google.rpc.RetryInfo`. The `mapErrors` interceptor (interceptors.ts) is its one caller.
 */

/** The gRPC code of each kind of failure: the one place a gRPC code comes from. */
export const GRPC_CODE_OF_KIND = {
  invalid: Code.InvalidArgument,
  unauthenticated: Code.Unauthenticated,
  forbidden: Code.PermissionDenied,
  not_found: Code.NotFound,
  // HTTP only: gRPC has no methods per path; an unknown method is Unimplemented.
  method_not_allowed: Code.Unimplemented,
  conflict: Code.AlreadyExists,
  // gRPC's own answer to a message over the size limit.
  payload_too_large: Code.ResourceExhausted,
  // HTTP only: gRPC's content types are negotiated by the protocol.
  unsupported_media_type: Code.InvalidArgument,
  business_rule: Code.FailedPrecondition,
  rate_limited: Code.ResourceExhausted,
  internal: Code.Internal,
  unavailable: Code.Unavailable,
} as const satisfies Record<ErrorKind, Code>;

/**
 * The codes whose gRPC code is not their kind's, in the same place: a request with the same
 * idempotency key still running is a concurrency conflict to retry (Aborted), not a resource
 * that already exists.
 */
export const GRPC_CODE_OF_ERROR_CODE = {
  idempotency_in_progress: Code.Aborted,
} as const satisfies Partial<Record<ErrorCode, Code>>;

/** `google.rpc.ErrorInfo.domain` of every error. */
export const ERROR_DOMAIN = "simplebank";

/** Seconds a client should wait after Unavailable (as REST's Retry-After). */
const UNAVAILABLE_RETRY_SECONDS = 5n;

/** The gRPC code of an error code: its own entry, else its kind's. */
export function grpcCodeOf(code: ErrorCode): Code {
  const own = (GRPC_CODE_OF_ERROR_CODE as Partial<Record<ErrorCode, Code>>)[code];
  return own ?? GRPC_CODE_OF_KIND[kindOf(code)];
}

type Details = ConstructorParameters<typeof ConnectError>[3];

/** A ConnectError of `code` with its ErrorInfo and any other details. */
function statusError(code: ErrorCode, message: string, details: NonNullable<Details> = []) {
  return new ConnectError(message, grpcCodeOf(code), undefined, [
    { desc: ErrorInfoSchema, value: { reason: code, domain: ERROR_DOMAIN } },
    ...details,
  ]);
}

/** A call's failure as the client gets it, and the stable code it carries (for the log). */
export interface GrpcFailure {
  status: ConnectError;
  /** Undefined for the protocol's own errors (deadline, cancellation, a malformed message). */
  code?: ErrorCode;
}

/**
 * Any error thrown by a call, as the status the client gets. Domain errors by their code;
 * database outages (as problem.ts detects them) Unavailable; ConnectErrors (the protocol's
 * own) unchanged; anything else is a bug, logged here and answered Internal with no detail.
 */
export function grpcFailure(error: unknown, logger: Logger, outage?: OutageLog): GrpcFailure {
  if (error instanceof DomainError) return { status: domainStatus(error), code: error.code };
  if (error instanceof ConnectError) return { status: error };
  if (isUnavailableError(error)) {
    // Expected and handled: one warning per outage (the outage log), never a stack.
    if (outage) outage.down(error);
    else logger.warn("database unavailable", { reason: errorSummary(error) });
    return {
      status: unavailable("the service is temporarily unavailable; retry shortly"),
      code: "unavailable",
    };
  }
  logger.error("unhandled error", { error });
  return {
    status: statusError("internal", "an unexpected error occurred; it has been logged"),
    code: "internal",
  };
}

function domainStatus(error: DomainError): ConnectError {
  if (error instanceof ValidationError) {
    return statusError(error.code, error.message, [
      {
        desc: BadRequestSchema,
        value: {
          fieldViolations: error.violations.map((v) => ({
            field: v.field,
            description: v.message,
          })),
        },
      },
    ]);
  }
  if (error instanceof RateLimitedError) {
    return statusError(error.code, error.message, [
      {
        desc: RetryInfoSchema,
        value: { retryDelay: { seconds: BigInt(error.retryAfterSeconds) } },
      },
    ]);
  }
  if (error instanceof UnavailableError) return unavailable(error.message);
  return statusError(error.code, error.message);
}

function unavailable(message: string): ConnectError {
  return statusError("unavailable", message, [
    { desc: RetryInfoSchema, value: { retryDelay: { seconds: UNAVAILABLE_RETRY_SECONDS } } },
  ]);
}
