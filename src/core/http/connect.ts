import { cors as connectCors } from "@connectrpc/connect";
import { Hono } from "hono";
import { createConnectFetchHandler } from "../grpc/router.ts";
import type { HttpDeps } from "./env.ts";
import { corsPolicy } from "./middleware/cors.ts";

/**
 * Connect (JSON and binary) and gRPC-Web on the HTTP port, at /pb.SimpleBank/<Method>: the same
 * Connect service as native gRPC (src/core/grpc), on Bun and on the Worker. It sits in front
 * of the REST middleware: an RPC gets its request id, log line and errors from the gRPC
 * interceptors, once, not from REST's. CORS is REST's one policy (middleware/cors.ts: the
 * allowed origins only, with credentials; other origins get no CORS headers) plus the headers
 * the Connect and gRPC-Web protocols send and read; Connect unary sends trailers as `Trailer-`
 * headers, so the request id is exposed both ways.
 */
export function connectRoutes(deps: HttpDeps) {
  const rpc = createConnectFetchHandler(deps);
  const app = new Hono();
  const allowed = corsPolicy(deps.allowedOrigins, {
    methods: connectCors.allowedMethods,
    allowHeaders: connectCors.allowedHeaders,
    exposeHeaders: [...connectCors.exposedHeaders, "Trailer-X-Request-Id"],
  });
  // Only the procedures: any other path under /pb.SimpleBank/ is REST's 404.
  for (const path of rpc.paths) {
    app.use(path, allowed);
    app.all(path, (c) => rpc.handle(c.req.raw, deps.connectionIp(c)));
  }
  return app;
}
