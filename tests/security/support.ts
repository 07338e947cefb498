import { call } from "../support/app.ts";

/**
 * What the security suite reads from the API's own description: the operations of
 * /openapi.json, so a route added later is walked by every test that enumerates them (and a
 * test fails until the new route has a case).
 */

interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
}

export interface OpenApiOperation {
  method: string;
  /** As documented, e.g. `/accounts/{id}`. */
  path: string;
  operationId?: string;
  parameters: OpenApiParameter[];
  /** Whether it declares a bearer security requirement. */
  authenticated: boolean;
  /** The documented response statuses. */
  statuses: string[];
  /** The request body's JSON schema, if any. */
  requestSchema?: Record<string, unknown>;
}

interface RawOperation {
  operationId?: string;
  parameters?: OpenApiParameter[];
  security?: unknown[];
  responses: Record<string, unknown>;
  requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> };
}

interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, Record<string, unknown>> };
}

async function openApiDocument(): Promise<OpenApiDocument> {
  const reply = await call<OpenApiDocument>("GET", "/openapi.json");
  if (reply.status !== 200) throw new Error(`GET /openapi.json: ${reply.status}`);
  return reply.body;
}

export async function openApiOperations(): Promise<OpenApiOperation[]> {
  const document = await openApiDocument();
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      operationId: operation.operationId,
      parameters: operation.parameters ?? [],
      authenticated: (operation.security ?? []).length > 0,
      statuses: Object.keys(operation.responses),
      requestSchema: operation.requestBody?.content?.["application/json"]?.schema,
    })),
  );
}

/** `METHOD /path/{param}`: how the cases of a test are keyed. */
export const operationKey = (operation: { method: string; path: string }) =>
  `${operation.method} ${operation.path}`;

/** A Connect unary call in the JSON protocol over the app's HTTP port (REST's `call`). */
export function connectCall(method: string, body: unknown, token?: string) {
  return call<{ code?: string; message?: string } & Record<string, unknown>>(
    "POST",
    `/pb.SimpleBank/${method}`,
    { body, token, headers: { "Connect-Protocol-Version": "1" } },
  );
}
