import { cors as connectCors } from "@connectrpc/connect";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { createConnectFetchHandler } from "../grpc/router.ts";
import type { HttpDeps } from "./env.ts";

/**
 * Connect (JSON and binary) and gRPC-Web on the HTTP port, at /pb.SimpleBank/<Method>: the same
 * Connect service as native gRPC (src/core/grpc), on Bun and on the Worker. It sits in front
 * of the REST middleware: an RPC gets its request id, log line and errors from the gRPC
 * interceptors, once, not from REST's. CORS is REST's (the allowed origins only, with
 * credentials) plus the headers the Connect and gRPC-Web protocols send and read; Connect
 * unary sends trailers as `Trailer-` headers, so the request id is exposed both ways.
 */
export function connectRoutes(deps: HttpDeps) {
  const rpc = createConnectFetchHandler(deps);
  const app = new Hono();
  const allowed = cors({
    origin: (origin) => (deps.allowedOrigins.includes(origin) ? origin : null),
    credentials: true,
    allowMethods: [...connectCors.allowedMethods, "OPTIONS"],
    allowHeaders: [
      ...connectCors.allowedHeaders,
      "Authorization",
      "Idempotency-Key",
      "X-Request-Id",
    ],
    exposeHeaders: [...connectCors.exposedHeaders, "X-Request-Id", "Trailer-X-Request-Id"],
    maxAge: 600,
  });
  // Only the procedures: any other path under /pb.SimpleBank/ is REST's 404.
  for (const path of rpc.paths) {
    app.use(path, allowed);
    app.all(path, (c) => rpc.handle(c.req.raw, deps.connectionIp(c)));
  }
  return app;
}
