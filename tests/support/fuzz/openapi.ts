import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { call } from "../app.ts";

/**
 * The app's own /openapi.json as the fuzzer reads it: its operations (method, path template,
 * parameters, request body schema, security) and a validator per documented response
 * (operation × status × media type). Response schemas are checked strictly: an object schema
 * that lists its properties admits no others, so an undocumented field (a leaked column) fails.
 */

export interface Schema {
  $ref?: string;
  type?: string;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  allOf?: Schema[];
  anyOf?: Schema[];
  oneOf?: Schema[];
  example?: unknown;
}

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema: Schema;
}

interface RawOperation {
  operationId: string;
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<
    string,
    {
      content?: Record<string, { schema?: Schema }>;
      headers?: Record<string, { required?: boolean; schema?: Schema }>;
    }
  >;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components: { schemas: Record<string, Schema> };
}

export interface Operation {
  /** "POST /transfers": the operation's name in test titles and replays. */
  label: string;
  method: string;
  /** The path template, e.g. `/accounts/{id}`. */
  path: string;
  operationId: string;
  secured: boolean;
  parameters: Parameter[];
  /** The JSON request body's schema (resolved), if the operation takes one. */
  body: Schema | undefined;
  /** status → media type → validator (an empty map: no body documented). */
  responses: Map<string, Map<string, ValidateFunction>>;
  /** status → documented response header (lower case) → its value's validator. */
  responseHeaders: Map<string, Map<string, ValidateFunction>>;
}

export interface Api {
  document: OpenApiDocument;
  operations: Operation[];
  resolve(schema: Schema): Schema;
}

const METHODS = ["get", "put", "post", "delete", "patch"];
const DOC_ID = "openapi.json";

/** RFC 3339 in UTC with `Z`, as the contract writes every timestamp. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `additionalProperties: false` on every object schema with listed properties and no rule. */
function closed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(closed);
  if (value === null || typeof value !== "object") return value;
  const out = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, closed(v)]));
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

export async function loadApi(): Promise<Api> {
  const reply = await call<OpenApiDocument>("GET", "/openapi.json");
  if (reply.status !== 200) throw new Error(`GET /openapi.json → ${reply.status}`);
  const document = reply.body;

  const ajv = new Ajv2020({ strict: false, allErrors: true, allowUnionTypes: true });
  ajv.addFormat("date-time", TIMESTAMP);
  ajv.addFormat("uuid", UUID);
  ajv.addFormat("email", /^[^\s@]+@[^\s@]+$/);
  ajv.addFormat("password", /.*/);
  // AccountView is `allOf: [Account, {balance}]`: closing each part separately would reject
  // every field of the other, so it is checked as one closed object.
  const components = closed(document.components) as OpenApiDocument["components"];
  const account = components.schemas.Account;
  if (components.schemas.AccountView && account) {
    components.schemas.AccountView = {
      ...account,
      required: (account.required ?? []).filter((name) => name !== "balance"),
    };
  }
  ajv.addSchema({ $id: DOC_ID, components });

  const resolve = (schema: Schema): Schema => {
    if (!schema.$ref) return schema;
    const name = schema.$ref.replace("#/components/schemas/", "");
    const target = document.components.schemas[name];
    if (!target) throw new Error(`dangling $ref ${schema.$ref}`);
    return resolve(target);
  };
  const compile = (schema: Schema): ValidateFunction => {
    const text = JSON.stringify(closed(schema)).replaceAll(
      '"$ref":"#/components/',
      `"$ref":"${DOC_ID}#/components/`,
    );
    return ajv.compile(JSON.parse(text));
  };

  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      if (!METHODS.includes(method)) continue;
      const responses = new Map<string, Map<string, ValidateFunction>>();
      const responseHeaders = new Map<string, Map<string, ValidateFunction>>();
      for (const [status, response] of Object.entries(raw.responses)) {
        const named = new Map<string, ValidateFunction>();
        for (const [name, header] of Object.entries(response.headers ?? {})) {
          named.set(name.toLowerCase(), compile(header.schema ?? {}));
        }
        responseHeaders.set(status, named);
        const media = new Map<string, ValidateFunction>();
        for (const [type, content] of Object.entries(response.content ?? {})) {
          media.set(type, compile(content.schema ?? {}));
        }
        responses.set(status, media);
      }
      const json = raw.requestBody?.content["application/json"]?.schema;
      operations.push({
        label: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        operationId: raw.operationId,
        secured: (raw.security?.length ?? 0) > 0,
        parameters: raw.parameters ?? [],
        body: json ? resolve(json) : undefined,
        responses,
        responseHeaders,
      });
    }
  }
  return { document, operations, resolve };
}
