import { bodyLimit } from "hono/body-limit";
import { methodNotAllowed } from "hono/method-not-allowed";
import { secureHeaders } from "hono/secure-headers";
import { connectRoutes } from "./connect.ts";
import { createRouter } from "./create-router.ts";
import type { HttpDeps } from "./env.ts";
import { corsPolicy } from "./middleware/cors.ts";
import { requestContext } from "./middleware/request-context.ts";
import { BEARER_SCHEME, documentConfig } from "./openapi/document.ts";
import { errorResponse, payloadTooLarge, problemResponse } from "./problem.ts";
import { accountsRouter } from "./routes/accounts/accounts.index.ts";
import { cashRouter } from "./routes/cash/cash.index.ts";
import { consoleRouter } from "./routes/console/console.index.ts";
import { docsRouter } from "./routes/docs/docs.index.ts";
import { gatewayRouter } from "./routes/gateway/gateway.index.ts";
import { healthRouter } from "./routes/health/health.index.ts";
import { sessionsRouter } from "./routes/sessions/sessions.index.ts";
import { transfersRouter } from "./routes/transfers/transfers.index.ts";
import { usersRouter } from "./routes/users/users.index.ts";

/** Bodies over this size get 413 (contract, Conventions). */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * The REST face of the bank. Middleware, outermost first:
 * request context (id, logger, one log line), security headers, CORS, body limit, 405s. Then
 * one router per resource; every failure becomes problem+json in `errorResponse`.
 */
export function createApp(deps: HttpDeps) {
  const app = createRouter();

  // Connect and gRPC-Web (/pb.SimpleBank/*): ahead of the REST middleware, with the same CORS
  // policy, and their own request id, log line and errors (src/core/http/connect.ts).
  app.route("/", connectRoutes(deps));
  app.use(requestContext(deps));
  app.use(
    secureHeaders({
      xFrameOptions: "DENY",
      xContentTypeOptions: "nosniff",
      referrerPolicy: "no-referrer",
      strictTransportSecurity: deps.production ? "max-age=63072000; includeSubDomains" : false,
      crossOriginResourcePolicy: "same-origin",
      // JSON needs nothing; /docs sets its own policy, which must survive this middleware
      // (it writes its headers after the handler ran, so a route's own header wins only
      // with `overwrite: false`).
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      overwrite: false,
    }),
  );
  app.use(corsPolicy(deps.allowedOrigins));
  app.use(bodyLimit({ maxSize: MAX_BODY_BYTES, onError: (c) => payloadTooLarge(c) }));
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        c.header("Allow", methods.join(", "));
        return problemResponse(
          c,
          "method_not_allowed",
          `${c.req.method} is not allowed here; use ${methods.join(", ")}`,
        );
      },
    }),
  );

  // The web console's pages and files: first, since its GET /verify_email answers a browser's
  // navigation before the API route does; outside `routes`, so AppType stays the API's.
  app.route("/", consoleRouter);
  const routes = app
    .route("/", healthRouter)
    .route("/", usersRouter)
    .route("/", sessionsRouter)
    .route("/", accountsRouter)
    .route("/", cashRouter)
    .route("/", transfersRouter)
    .route("/", gatewayRouter)
    .route("/", docsRouter);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", BEARER_SCHEME);
  app.doc31("/openapi.json", documentConfig());

  app.notFound((c) =>
    problemResponse(c, "not_found", `no route for ${c.req.method} ${c.req.path}`),
  );
  app.onError((error, c) => errorResponse(c, error));

  return routes;
}

/** The app's type, for typed clients: `hc<AppType>(baseUrl)` from hono/client. */
export type AppType = ReturnType<typeof createApp>;
