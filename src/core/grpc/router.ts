import {
  type ConnectRouter,
  type ConnectRouterOptions,
  createConnectRouter,
} from "@connectrpc/connect";
import {
  type UniversalHandler,
  universalServerRequestFromFetch,
  universalServerResponseToFetch,
} from "@connectrpc/connect/protocol";
import { type GrpcDeps, openCall, peerValues } from "./call.ts";
import { SimpleBank } from "./gen/pb/service_simple_bank_pb.ts";
import { INTERCEPTORS } from "./interceptors.ts";
import { simpleBank } from "./simple-bank.ts";

/** A message over this size is refused (ResourceExhausted), as REST refuses a larger body. */
const READ_MAX_BYTES = 64 * 1024;

/**
 * The options of every router that serves the bank, whatever the runtime: the request gate
 * (request id, the call's context) and the interceptors (log line, errors, the caller).
 */
export function routerOptions(deps: GrpcDeps): Partial<ConnectRouterOptions> {
  return { requestGate: openCall(deps), interceptors: INTERCEPTORS, readMaxBytes: READ_MAX_BYTES };
}

/** Registers `pb.SimpleBank` on a router (the native gRPC server's, or the fetch handler's). */
export function registerSimpleBank(router: ConnectRouter): void {
  router.service(SimpleBank, simpleBank);
}

/**
 * Connect (JSON and binary) and gRPC-Web as a fetch handler, for the HTTP app on any runtime:
 * `paths` are the procedures' (/pb.SimpleBank/<Method>); Hono hands `handle` a request for one
 * of them and the peer address it vouches for. Native gRPC needs HTTP trailers, which a fetch
 * Response cannot carry: it is served on GRPC_PORT instead.
 */
export function createConnectFetchHandler(deps: GrpcDeps) {
  const router = createConnectRouter({ ...routerOptions(deps), grpc: false });
  registerSimpleBank(router);
  const handlers = new Map<string, UniversalHandler>(
    router.handlers.map((handler) => [handler.requestPath, handler]),
  );
  return {
    paths: [...handlers.keys()],
    async handle(request: Request, peer: string | undefined): Promise<Response> {
      const handler = handlers.get(new URL(request.url).pathname);
      if (!handler) return new Response(null, { status: 404 });
      const universal = universalServerRequestFromFetch(request, {});
      const response = await handler({ ...universal, contextValues: peerValues(peer) });
      return universalServerResponseToFetch(response);
    },
  };
}
