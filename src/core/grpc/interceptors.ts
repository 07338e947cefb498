import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { authenticate as authenticateCaller } from "../services/sessions.ts";
import { callState } from "./call.ts";
import { grpcFailure } from "./errors.ts";
import { accessOf } from "./simple-bank.ts";

/**
 * The interceptors of every call, outermost first (the request gate, call.ts, ran before them):
 * - `logCalls`: ONE log line per call (procedure, protocol, gRPC code, duration, the caller,
 *   the error code);
 * - `mapErrors`: every error becomes a gRPC status, in one place (errors.ts);
 * - `authenticate`: the RPCs that need a caller prove it from the `authorization` metadata
 *   through the same service as REST (token maker, revocation check, and the per-operation
 *   rate limit: CreateTransfer counts as a `transfer`).
 * Streams (health's Watch, reflection) are wrapped so their line and status come at their end.
 */

export const INTERCEPTORS: Interceptor[] = [logCalls(), mapErrors(), authenticate()];

/** The gRPC code's canonical name: OK, INVALID_ARGUMENT… */
function codeName(code: Code | 0): string {
  return code === 0 ? "OK" : Code[code].replace(/(?<=.)([A-Z])/g, "_$1").toUpperCase();
}

/** Codes logged at error level, as REST logs its 5xx. */
const SERVER_FAULTS = new Set([Code.Unknown, Code.Internal, Code.DataLoss, Code.Unavailable]);

/** `messages`, calling `end` once when the stream ends, fails or is cancelled. */
async function* watched<T>(
  messages: AsyncIterable<T>,
  end: (error: unknown) => void,
): AsyncIterable<T> {
  let outcome: unknown = new ConnectError("the client cancelled the call", Code.Canceled);
  try {
    yield* messages;
    outcome = undefined;
  } catch (error) {
    outcome = error;
    throw error;
  } finally {
    end(outcome);
  }
}

function logCalls(): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const call = callState(req.contextValues);
    const log = (error: unknown) => {
      const code = error === undefined ? 0 : ConnectError.from(error).code;
      const line = {
        procedure: `/${req.service.typeName}/${req.method.name}`,
        protocol: call.protocol,
        grpc_code: codeName(code),
        duration_ms: Math.round((performance.now() - started) * 10) / 10,
        ...(call.actor ? { username: call.actor.username } : {}),
        ...(call.errorCode ? { error_code: call.errorCode } : {}),
      };
      // Unavailable (an outage, answered with a retry hint) is expected: a warning, not an error.
      if (code === Code.Unavailable) call.ctx.logger.warn("rpc", line);
      else if (code !== 0 && SERVER_FAULTS.has(code)) call.ctx.logger.error("rpc", line);
      else call.ctx.logger.info("rpc", line);
    };
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (error) {
      log(error);
      throw error;
    }
    if (!res.stream) {
      log(undefined);
      return res;
    }
    return { ...res, message: watched(res.message, log) };
  };
}

function mapErrors(): Interceptor {
  return (next) => async (req) => {
    const call = callState(req.contextValues);
    const map = (error: unknown): ConnectError => {
      const failure = grpcFailure(error, call.ctx.logger, call.ctx.databaseOutage);
      call.errorCode = failure.code;
      return failure.status;
    };
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (error) {
      throw map(error);
    }
    if (!res.stream) return res;
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* messages;
        } catch (error) {
          throw map(error);
        }
      })(),
    };
  };
}

function authenticate(): Interceptor {
  return (next) => async (req) => {
    const access = accessOf(req.method);
    if (access !== "public") {
      const call = callState(req.contextValues);
      call.actor = await authenticateCaller(
        call.ctx,
        req.header.get("authorization") ?? undefined,
        {
          operation: access.operation,
        },
      );
    }
    return next(req);
  };
}
