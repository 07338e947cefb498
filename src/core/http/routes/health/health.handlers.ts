import { UnavailableError } from "../../../domain/errors.ts";
import * as health from "../../../services/health.ts";
import type { AppRouteHandler } from "../../create-router.ts";
import type * as routes from "./health.routes.ts";

export const healthz: AppRouteHandler<typeof routes.healthz> = (c) =>
  c.json({ status: "ok" as const }, 200);

export const readyz: AppRouteHandler<typeof routes.readyz> = async (c) => {
  const readiness = await health.checkReadiness(c.var.ctx, c.var.deps.readiness);
  if (!readiness.ready) {
    throw new UnavailableError("not ready to serve traffic", { checks: readiness.checks });
  }
  return c.json({ status: "ok" as const, checks: readiness.checks }, 200);
};
