import { createRoute } from "@hono/zod-openapi";
import { json, problems } from "../../openapi/responses.ts";
import { HealthSchema, ReadinessSchema } from "../../openapi/schemas.ts";

const tags = ["Operations"];

export const healthz = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "healthz",
  tags,
  summary: "Liveness: the process is up (no I/O)",
  responses: { 200: json(HealthSchema, "Alive") },
});

export const readyz = createRoute({
  method: "get",
  path: "/readyz",
  operationId: "readyz",
  tags,
  summary: "Readiness: the database answers and every migration is applied",
  responses: {
    200: json(ReadinessSchema, "Ready to serve traffic"),
    ...problems(503),
  },
});
