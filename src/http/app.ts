import { Hono } from "hono";
import { DomainError } from "../domain/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { Readiness } from "../services/health.ts";
import { domainErrorResponse, problemResponse } from "./problem.ts";

export interface AppDeps {
  logger: Logger;
  /** The readiness service, bound to its dependencies at start-up. */
  readiness: () => Promise<Readiness>;
}

type AppEnv = { Variables: { requestId: string } };

const SANE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export function createApp(deps: AppDeps) {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    const incoming = c.req.header("X-Request-Id");
    const requestId = incoming && SANE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    c.header("X-Request-Id", requestId);
    await next();
  });

  // Operational endpoints (contract, "Operational endpoints").
  app.get("/healthz", (c) => c.json({ status: "ok" }, 200));
  app.get("/readyz", async (c) => {
    const readiness = await deps.readiness();
    if (readiness.ready) return c.json({ status: "ok", checks: readiness.checks }, 200);
    c.header("Retry-After", "5");
    return problemResponse(c, 503, "unavailable", "not ready to serve traffic", {
      checks: readiness.checks,
    });
  });

  app.notFound((c) =>
    problemResponse(c, 404, "not_found", `no route for ${c.req.method} ${c.req.path}`),
  );

  app.onError((error, c) => {
    if (error instanceof DomainError) return domainErrorResponse(c, error);
    deps.logger.error("unhandled error", { error, requestId: c.get("requestId") });
    return problemResponse(c, 500, "internal", "an unexpected error occurred; it has been logged");
  });

  return app;
}

export type App = ReturnType<typeof createApp>;
