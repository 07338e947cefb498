import { beforeAll, describe, expect, test } from "bun:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { ERROR_CODES, ERROR_TABLE, type ErrorCode } from "../../src/core/domain/error-codes.ts";
import type { AppType } from "../../src/core/http/app.ts";
import { statusOf } from "../../src/core/http/problem.ts";
import { CONSOLE_ROUTES } from "../../src/core/http/routes/console/console.index.ts";
import { call, expectProblem, testApp } from "../support/app.ts";

/**
 * GET /openapi.json is complete and true (contract, "Operational endpoints"): valid OpenAPI
 * 3.1, every route the app serves is documented and every documented operation is served,
 * every error documented as problem+json, security and problem codes as the code has them.
 */

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  security?: Record<string, string[]>[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  parameters?: Parameter[];
  responses: Record<
    string,
    {
      content?: Record<
        string,
        { schema?: Schema; example?: unknown; examples?: Record<string, { value?: unknown }> }
      >;
    }
  >;
}

interface Parameter {
  name: string;
  in: string;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
  schema?: Schema & { default?: unknown };
}

interface Schema {
  $ref?: string;
  type?: string;
  enum?: string[];
  example?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
}

interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, Schema>;
    securitySchemes?: Record<string, { type: string; scheme?: string }>;
  };
}

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const PROBLEM_REF = "#/components/schemas/Problem";

let app: AppType;
let doc: Document;
let operations: { method: string; path: string; operation: Operation }[];

beforeAll(async () => {
  app = await testApp();
  const reply = await call<Document>("GET", "/openapi.json");
  expect(reply.status).toBe(200);
  expect(reply.headers.get("Content-Type") ?? "").toContain("application/json");
  doc = reply.body;
  operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]) => ({ method, path, operation })),
  );
});

const resolve = (schema: Schema | undefined): Schema => {
  if (!schema?.$ref) return schema ?? {};
  const name = schema.$ref.replace("#/components/schemas/", "");
  const target = doc.components.schemas[name];
  if (!target) throw new Error(`dangling $ref ${schema.$ref}`);
  return resolve(target);
};

const label = (o: { method: string; path: string }) => `${o.method.toUpperCase()} ${o.path}`;

/** Runs `check` on every operation and reports all the ones that fail, by name. */
function everyOperation(check: (o: (typeof operations)[number]) => string | undefined) {
  const failures = operations.flatMap((o) => {
    const problem = check(o);
    return problem ? [`${label(o)}: ${problem}`] : [];
  });
  expect(failures).toEqual([]);
}

describe("the document", () => {
  test("is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)", async () => {
    const validator = new Validator();
    const result = await validator.validate(doc as unknown as Record<string, unknown>);
    if (!result.valid) throw new Error(JSON.stringify(result.errors, null, 2));
    expect(validator.version).toBe("3.1");
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
  });

  test("every $ref resolves", () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) expect(() => resolve({ $ref: ref })).not.toThrow();
  });
});

describe("routes and operations match", () => {
  /**
   * What the app really routes: method + OpenAPI path, minus middleware, the docs' own files and
   * the web console's pages and files (its GET /verify_email is the documented operation's).
   */
  const registered = () => {
    const routes = app.routes
      .filter((r) => r.method !== "ALL")
      .filter(
        (r) => r.path !== "/openapi.json" && r.path !== "/docs" && !r.path.startsWith("/docs/"),
      )
      .filter((r) => !CONSOLE_ROUTES.has(r.path) || r.path === "/verify_email")
      .map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
    return [...new Set(routes)].sort();
  };

  test("every route the app registers is documented, and nothing else is", () => {
    const documented = operations.map(label).sort();
    expect(registered().length).toBeGreaterThanOrEqual(19);
    expect(documented).toEqual(registered());
  });

  test("every documented operation is really served (not 404, not 405)", async () => {
    const failures: string[] = [];
    for (const o of operations) {
      const path = o.path
        .replace("{code}", "not_found")
        .replace("{username}", "alice")
        .replace(/\{[^}]+\}/g, "1");
      const reply = await call(o.method.toUpperCase(), path);
      const code = (reply.body as { code?: string }).code;
      if (
        reply.status === 405 ||
        (reply.status === 404 && /no route/.test(JSON.stringify(reply.body)))
      ) {
        failures.push(`${label(o)} → ${reply.status} ${code}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe("every operation", () => {
  test("has an operationId (unique), tags and a summary", () => {
    everyOperation(({ operation }) => {
      if (!operation.operationId) return "no operationId";
      if (!operation.tags?.length) return "no tags";
      if (!operation.summary) return "no summary";
      return undefined;
    });
    const ids = operations.map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("its tags are declared at the top of the document", () => {
    const declared = new Set(
      ((doc as unknown as { tags?: { name: string }[] }).tags ?? []).map((t) => t.name),
    );
    everyOperation(({ operation }) => {
      const unknown = (operation.tags ?? []).filter((t) => !declared.has(t));
      return unknown.length > 0 ? `undeclared tags ${unknown.join(", ")}` : undefined;
    });
  });

  test("documents at least one 4xx (if it takes any input), and 500 and 503", () => {
    everyOperation(({ path, operation }) => {
      // Liveness does no I/O and takes no input (contract): it documents only its 200.
      if (path === "/healthz") return undefined;
      const statuses = Object.keys(operation.responses);
      // /readyz takes nothing (no parameters, body or token): no 4xx of its own.
      const takesInput =
        operation.requestBody !== undefined ||
        (operation.security?.length ?? 0) > 0 ||
        ((operation as { parameters?: unknown[] }).parameters?.length ?? 0) > 0;
      if (takesInput && !statuses.some((s) => /^4\d\d$/.test(s))) return "no 4xx response";
      if (!statuses.includes("500")) return "no 500 response";
      if (!statuses.includes("503")) return "no 503 response";
      return undefined;
    });
  });

  test("documents every error response as application/problem+json referencing Problem", () => {
    everyOperation(({ operation }) => {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]\d\d$/.test(status)) continue;
        const content = Object.keys(response.content ?? {});
        if (content.join() !== "application/problem+json") return `${status}: content ${content}`;
        const ref = response.content?.["application/problem+json"]?.schema?.$ref;
        if (ref !== PROBLEM_REF) return `${status}: schema ${ref}`;
      }
      return undefined;
    });
  });

  test("protected operations document 401; 429 and 503 document Retry-After", () => {
    everyOperation(({ operation }) => {
      if (operation.security?.length && !operation.responses["401"]) return "protected, no 401";
      for (const status of ["429", "503"]) {
        const response = operation.responses[status] as
          | { headers?: Record<string, unknown> }
          | undefined;
        if (response && !response.headers?.["Retry-After"]) return `${status} without Retry-After`;
      }
      return undefined;
    });
  });

  test("JSON request bodies are `required: true`, and such operations document 400, 413, 415", () => {
    everyOperation(({ operation }) => {
      if (!operation.requestBody) return undefined;
      if (operation.requestBody.required !== true) return "requestBody not required";
      if (!operation.requestBody.content?.["application/json"]) return "body is not JSON";
      for (const status of ["400", "413", "415"]) {
        if (!operation.responses[status]) return `no ${status}`;
      }
      return undefined;
    });
  });

  test("request body schemas have an example for every property", () => {
    const bodies = operations.filter((o) => o.operation.requestBody);
    expect(bodies.length).toBeGreaterThanOrEqual(8);
    everyOperation(({ operation }) => {
      const schema = operation.requestBody?.content?.["application/json"]?.schema;
      if (!schema) return undefined;
      const resolved = resolve(schema);
      if (resolved.example !== undefined) return undefined;
      const missing = Object.entries(resolved.properties ?? {})
        .filter(([, property]) => resolve(property).example === undefined)
        .map(([name]) => name);
      return missing.length > 0 ? `no example for ${missing.join(", ")}` : undefined;
    });
  });

  test("the transfer example is a plausible request (not from an account to itself)", () => {
    const properties = resolve({ $ref: "#/components/schemas/TransferRequest" }).properties ?? {};
    expect(properties.from_account_id?.example).toBeDefined();
    expect(properties.from_account_id?.example).not.toEqual(properties.to_account_id?.example);
  });
});

describe("Idempotency-Key", () => {
  test("the money movements document the same header and the 201's Idempotent-Replayed", () => {
    const moving = ["/transfers", "/accounts/{id}/deposits", "/accounts/{id}/withdrawals"];
    const documented = moving.map((path) => {
      const operation = doc.paths[path]?.post;
      const created = operation?.responses["201"] as { headers?: Record<string, unknown> };
      return {
        key: operation?.parameters?.find((p) => p.in === "header" && p.name === "Idempotency-Key"),
        replayed: created?.headers?.["Idempotent-Replayed"],
        conflict: operation?.responses["409"] !== undefined,
      };
    });
    for (const entry of documented) {
      expect(entry.key).toBeDefined();
      expect(entry.replayed).toBeDefined();
      expect(entry.conflict).toBe(true);
      expect(entry).toEqual(documented[0] as (typeof documented)[number]);
    }
  });
});

describe("security", () => {
  test("bearerAuth exists in components.securitySchemes as HTTP bearer", () => {
    expect(doc.components.securitySchemes?.bearerAuth).toMatchObject({
      type: "http",
      scheme: "bearer",
    });
  });

  test("protected operations require bearerAuth and nothing else", () => {
    const protectedOps = operations.filter((o) => o.operation.security?.length);
    expect(protectedOps.length).toBeGreaterThanOrEqual(12);
    everyOperation(({ operation }) => {
      if (!operation.security) return undefined;
      const schemes = operation.security.flatMap((requirement) => Object.keys(requirement));
      if (schemes.join() !== "bearerAuth") return `security ${JSON.stringify(operation.security)}`;
      return undefined;
    });
  });

  test("every security requirement names a declared scheme", () => {
    const declared = Object.keys(doc.components.securitySchemes ?? {});
    everyOperation(({ operation }) => {
      const unknown = (operation.security ?? [])
        .flatMap((requirement) => Object.keys(requirement))
        .filter((name) => !declared.includes(name));
      return unknown.length > 0 ? `unknown schemes ${unknown}` : undefined;
    });
  });
});

describe("problem codes", () => {
  test("the Problem schema's `code` enum is exactly ERROR_CODES", () => {
    const problem = doc.components.schemas.Problem;
    expect(problem?.required).toEqual(
      expect.arrayContaining(["type", "title", "status", "detail", "code"]),
    );
    const code = resolve(problem?.properties?.code);
    expect(code.enum).toEqual([...ERROR_CODES]);
  });

  test("every problem code has its /problems/{code} page (200 text/html)", async () => {
    for (const code of ERROR_CODES) {
      const reply = await call("GET", `/problems/${code}`);
      expect(reply.status).toBe(200);
      expect(reply.headers.get("Content-Type") ?? "").toStartWith("text/html");
      expect(String(reply.body)).toContain(code);
    }
  });

  test("an unknown problem code → 400 validation_failed on `code`", async () => {
    for (const code of ["no_such_code", "NOT_FOUND", "x"]) {
      const reply = await call("GET", `/problems/${code}`);
      expectProblem(reply, 400, "validation_failed");
      expect((reply.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual([
        "code",
      ]);
    }
  });

  test("every documented problem `type` is the /problems/{code} of its code", async () => {
    const reply = await call("GET", "/no/such/route");
    const body = reply.body as { type: string; code: string };
    expect(body.type).toBe(`/problems/${body.code}`);
    const page = await call("GET", body.type);
    expect(page.status).toBe(200);
  });

  test("each error response shows examples of its own status: its codes, its status, its title", () => {
    everyOperation(({ operation }) => {
      const wrong: string[] = [];
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]\d\d$/.test(status)) continue;
        const media = response.content?.["application/problem+json"];
        if (media?.example !== undefined)
          wrong.push(`${status}: a single example, not one per code`);
        const examples = Object.entries(media?.examples ?? {});
        if (examples.length === 0) wrong.push(`${status}: no example`);
        const codes = ERROR_CODES.filter((code) => String(statusOf(code)) === status);
        expect(codes.length).toBeGreaterThan(0);
        for (const [name, { value }] of examples) {
          const problem = value as Record<string, unknown>;
          const code = problem.code as ErrorCode;
          const ok =
            name === code &&
            codes.includes(code) &&
            problem.status === Number(status) &&
            problem.type === `/problems/${code}` &&
            problem.title === ERROR_TABLE[code]?.title &&
            typeof problem.detail === "string" &&
            (problem.errors === undefined) === (code !== "validation_failed");
          if (!ok) wrong.push(`${status}: example ${name} is ${JSON.stringify(problem)}`);
        }
        const shown = examples.map(([name]) => name);
        if (shown.join() !== codes.join()) wrong.push(`${status}: shows ${shown}, not ${codes}`);
      }
      return wrong.length > 0 ? wrong.join("; ") : undefined;
    });
  });

  test("the statuses a client meets most show their own codes (401, 404, 409, 413, 415, 422, 429, 503)", () => {
    const examplesOf = (path: string, method: string, status: string) =>
      Object.keys(
        doc.paths[path]?.[method]?.responses[status]?.content?.["application/problem+json"]
          ?.examples ?? {},
      );
    expect(examplesOf("/transfers", "post", "401")).toEqual([
      "unauthenticated",
      "token_expired",
      "invalid_credentials",
    ]);
    expect(examplesOf("/transfers", "post", "413")).toEqual(["payload_too_large"]);
    expect(examplesOf("/transfers", "post", "415")).toEqual(["unsupported_media_type"]);
    expect(examplesOf("/transfers", "post", "422")).toContain("insufficient_funds");
    expect(examplesOf("/transfers", "post", "429")).toEqual(["rate_limited"]);
    expect(examplesOf("/transfers", "post", "503")).toEqual(["unavailable"]);
    expect(examplesOf("/accounts/{id}", "get", "403")).toEqual(["forbidden"]);
    expect(examplesOf("/accounts/{id}", "get", "404")).toContain("not_found");
    expect(examplesOf("/users", "post", "409")).toContain("username_taken");
  });

  test("the Problem schema itself shows no example status or code (each response has its own)", () => {
    const problem = resolve({ $ref: PROBLEM_REF });
    for (const name of ["type", "title", "status", "detail", "code"]) {
      expect({ name, example: problem.properties?.[name]?.example }).toEqual({
        name,
        example: undefined,
      });
    }
  });

  test("parameters: ids (but session ids) have integer examples; no username is pre-filled (example or default)", () => {
    // Usernames the document's bodies use as examples, and the system user.
    const names = new Set(["alice", "bob", "bank"]);
    const exampleValues = (parameter: Parameter) => [
      ...(parameter.example === undefined ? [] : [parameter.example]),
      ...Object.values(parameter.examples ?? {}).map((e) => e.value),
      ...(parameter.schema?.example === undefined ? [] : [parameter.schema.example]),
      ...(parameter.schema?.default === undefined ? [] : [parameter.schema.default]),
    ];
    let ids = 0;
    everyOperation(({ operation }) => {
      const wrong: string[] = [];
      for (const parameter of operation.parameters ?? []) {
        const values = exampleValues(parameter);
        // Sessions are the one kind of id that is a UUID (contract, "Conventions").
        if (parameter.name === "session_id") {
          if ((parameter.schema as { format?: string } | undefined)?.format !== "uuid")
            wrong.push("session_id is not a uuid");
          continue;
        }
        const isId = /(^|_)id$|Id$/.test(parameter.name);
        if (isId) {
          ids += 1;
          if (parameter.schema?.type !== "integer")
            wrong.push(`${parameter.name} is not an integer`);
          for (const value of values) {
            if (!Number.isInteger(value))
              wrong.push(`${parameter.name} example ${JSON.stringify(value)}`);
          }
        }
        const names_ = values.filter((value) => typeof value === "string" && names.has(value));
        if (names_.length > 0) wrong.push(`${parameter.name} pre-fills ${names_.join(", ")}`);
        if (/user|owner/.test(parameter.name) && values.length > 0) {
          wrong.push(`${parameter.name} has an example or default: ${JSON.stringify(values)}`);
        }
      }
      return wrong.length > 0 ? wrong.join("; ") : undefined;
    });
    // The path ids, account_id and email_id were all looked at.
    expect(ids).toBeGreaterThanOrEqual(8);
  });
});
