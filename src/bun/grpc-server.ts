import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Config } from "../core/config/config.ts";
import { type GrpcDeps, peerValues } from "../core/grpc/call.ts";
import { file_google_rpc_error_details } from "../core/grpc/gen/google/rpc/error_details_pb.ts";
import { Health } from "../core/grpc/gen/grpc/health/v1/health_pb.ts";
import { SimpleBank } from "../core/grpc/gen/pb/service_simple_bank_pb.ts";
import { createHealthService, type HealthDeps } from "../core/grpc/health.ts";
import { registerReflection } from "../core/grpc/reflection.ts";
import { registerSimpleBank, routerOptions } from "../core/grpc/router.ts";
import type { Logger } from "../core/lib/logger.ts";

/**
 * Native gRPC on GRPC_PORT: `node:http2` (h2c, or TLS with GRPC_TLS_CERT / GRPC_TLS_KEY), with
 * Connect's Node adapter serving `pb.SimpleBank` (the same implementation, request gate and
 * interceptors as Connect on the HTTP port), the standard health service and server
 * reflection (v1 and v1alpha). The adapter also answers Connect and gRPC-Web over HTTP/2.
 */

export interface GrpcServer {
  port: number;
  tls: boolean;
  /**
   * Drains: health turns NOT_SERVING (Watch streams say so and end), no new connection is
   * accepted and every connection gets a GOAWAY (new calls are refused), calls in flight
   * finish; after `timeoutMs` the ones still running are cut (Unavailable). Resolves to false
   * when some were cut.
   */
  stop(timeoutMs: number): Promise<boolean>;
}

export async function startGrpcServer(
  config: Config,
  deps: GrpcDeps & HealthDeps,
  logger: Logger,
): Promise<GrpcServer> {
  const health = createHealthService(deps);
  const cut = new AbortController();
  const handler = connectNodeAdapter({
    ...routerOptions(deps),
    shutdownSignal: cut.signal,
    contextValues: (req) => peerValues(req.socket?.remoteAddress),
    routes(router) {
      registerSimpleBank(router);
      health.register(router);
      registerReflection(router, [SimpleBank, Health], [file_google_rpc_error_details]);
    },
  });

  const { tls } = config.grpc;
  const server = tls
    ? http2.createSecureServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) })
    : http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  let inFlight = 0;
  server.on("request", (req, res) => {
    inFlight++;
    res.once("close", () => inFlight--);
    handler(req, res);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.grpc.port, "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.grpc.port;

  return {
    port,
    tls: tls !== undefined,
    async stop(timeoutMs) {
      health.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      if (inFlight > 0) logger.info("waiting for gRPC calls in flight", { pending: inFlight });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), timeoutMs);
      });
      const outcome = await Promise.race([closed.then(() => "drained" as const), timedOut]);
      clearTimeout(timer);
      if (outcome === "drained") return true;
      logger.warn("shutdown timeout: cutting the gRPC calls still in flight", {
        pending: inFlight,
      });
      cut.abort(new ConnectError("the server is shutting down", Code.Unavailable));
      for (const session of sessions) session.destroy();
      return false;
    },
  };
}
