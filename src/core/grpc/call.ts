import {
  type ContextValues,
  createContextKey,
  createContextValues,
  type HandlerContext,
} from "@connectrpc/connect";
import type { Database } from "../db/client.ts";
import type { ErrorCode } from "../domain/error-codes.ts";
import type { AuthenticatedActor, ClientInfo } from "../domain/types.ts";
import { forwardedClientIp } from "../lib/forwarded-for.ts";
import type { Logger } from "../lib/logger.ts";
import { requestIdFrom } from "../lib/request-id.ts";
import type { ServiceContext, Services, SessionContext } from "../services/context.ts";

/**
 * One call's state, for every RPC whatever the protocol (native gRPC, Connect, gRPC-Web) and
 * runtime: what the Connect service is built from (GrpcDeps), the peer address the serving
 * runtime vouches for (a context value it sets), and the call's own state, which the request
 * gate creates before anything else runs and the interceptors and the implementation share.
 */

/**
 * What the gRPC face of the bank is built from: a subset of the HTTP app's dependencies
 * (HttpDeps satisfies it), so both transports serve the same services the same way.
 */
export interface GrpcDeps {
  services: Services;
  /** The database handle of one call: the process pool (Bun), a client of its own (Worker). */
  database: () => Database;
  logger: Logger;
  /** Proxies in front whose X-Forwarded-For entries are trusted (0: use the peer). */
  trustProxyHops: number;
}

/** The address of the connection's peer, set by the serving runtime (unset: "unknown"). */
const PEER_ADDRESS = createContextKey<string | undefined>(undefined, {
  description: "the peer address of the connection",
});

/** The context values a runtime adapter gives a call: the peer it vouches for. */
export function peerValues(address: string | undefined): ContextValues {
  return createContextValues().set(PEER_ADDRESS, address);
}

export interface CallState {
  requestId: string;
  /** "grpc", "grpc-web" or "connect". */
  protocol: string;
  /** This call's service context: its database handle, a logger carrying its request id. */
  ctx: ServiceContext;
  client: ClientInfo;
  /** Set by the `authenticate` interceptor for the RPCs that need a caller. */
  actor?: AuthenticatedActor;
  /** Set by the `mapErrors` interceptor, for the call's log line. */
  errorCode?: ErrorCode;
}

const CALL = createContextKey<CallState | undefined>(undefined, { description: "the call" });

/** The request id's metadata key, in and out (response header AND trailer). */
const REQUEST_ID_KEY = "x-request-id";

/**
 * The router's request gate: runs for every call before its message is read and before any
 * interceptor (the one hook Connect gives the response headers of a call that may fail): the
 * request id (the client's `x-request-id` when sane, else a new UUID) goes back as a response
 * header and trailer, and the call gets its service context and client info.
 */
export function openCall(deps: GrpcDeps) {
  return (context: HandlerContext): void => {
    const requestId = requestIdFrom(context.requestHeader.get(REQUEST_ID_KEY));
    context.responseHeader.set(REQUEST_ID_KEY, requestId);
    context.responseTrailer.set(REQUEST_ID_KEY, requestId);
    const logger = deps.logger.child({ request_id: requestId });
    const peer = context.values.get(PEER_ADDRESS);
    context.values.set(CALL, {
      requestId,
      protocol: context.protocolName,
      ctx: { ...deps.services, db: deps.database(), logger },
      client: clientInfo(context.requestHeader, peer, deps.trustProxyHops),
    });
  };
}

/** The call's state (from interceptors: `req.contextValues`; from handlers: `context.values`). */
export function callState(values: ContextValues): CallState {
  const call = values.get(CALL);
  if (!call) throw new Error("no call state: the router was built without openCall");
  return call;
}

/** The service context of an RPC that needs no caller. */
export function serviceContext(context: HandlerContext): ServiceContext {
  return callState(context.values).ctx;
}

/** The service context of an RPC whose caller the `authenticate` interceptor proved. */
export function sessionContext(context: HandlerContext): SessionContext {
  const call = callState(context.values);
  if (!call.actor) throw new Error(`${context.method.name} ran without an authenticated caller`);
  return { ...call.ctx, actor: call.actor };
}

/**
 * Who is calling, for the session row and the per-IP limits, as the original server read it:
 * the user agent is `grpcgateway-user-agent` when a gateway in front forwarded the browser's,
 * else `user-agent`; the client IP is the X-Forwarded-For entry TRUST_PROXY says to trust
 * (the same rule as REST), else the connection's peer.
 */
function clientInfo(header: Headers, peer: string | undefined, hops: number): ClientInfo {
  const userAgent = header.get("grpcgateway-user-agent") || header.get("user-agent") || "";
  const clientIp = forwardedClientIp(header.get("x-forwarded-for"), hops) ?? peer ?? "unknown";
  return { userAgent: userAgent.slice(0, 512), clientIp: clientIp.slice(0, 64) };
}
