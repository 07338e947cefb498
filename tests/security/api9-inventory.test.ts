import { describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { SimpleBank } from "../../src/core/grpc/gen/pb/service_simple_bank_pb.ts";
import { CONSOLE_ROUTES } from "../../src/core/http/routes/console/console.index.ts";
import { call, signUp, TEST_TARGET, targetUrl, testApp } from "../support/app.ts";
import { openApiOperations, operationKey } from "./support.ts";

/**
 * OWASP API9:2023 Improper Inventory Management. What the app serves is what it documents:
 * the router's own route table against /openapi.json (and the Connect procedures against the
 * proto service), both ways; a list of the paths scanners try first (/admin, /debug, /metrics,
 * /.env, /openapi.yaml…) answers 404, and every documented path answers an undocumented
 * method (TRACE included) with 405 and Allow, all as problem+json.
 */

/** Served but not API operations: the document itself and the docs page with its assets. */
const NOT_OPERATIONS = /^GET (\/openapi\.json|\/docs|\/docs\/assets\/[a-z0-9.-]+)$/;

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, "{$1}");

/** The documented methods of every path template that `concrete` matches. */
function documentedMethods(operations: { method: string; path: string }[], concrete: string) {
  const methods = new Set<string>();
  for (const op of operations) {
    const pattern = new RegExp(`^${op.path.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    if (pattern.test(concrete)) methods.add(op.method);
  }
  return methods;
}

describe("API9: the route table is the documented inventory", () => {
  test("every route the router serves is in /openapi.json, and every documented operation is routed", async () => {
    const app = await testApp();
    const served = new Set<string>();
    const procedures = new Set<string>();
    for (const route of app.routes) {
      if (route.path.startsWith("/pb.SimpleBank/")) {
        if (!route.path.endsWith("*")) procedures.add(route.path.replace("/pb.SimpleBank/", ""));
        continue;
      }
      if (route.method === "ALL") {
        // Middleware (`app.use`) registers ALL on /*; a catch-all handler would be a hole.
        expect(route.path).toBe("/*");
        continue;
      }
      // The web console's pages and files are not API operations.
      if (CONSOLE_ROUTES.has(route.path) && route.path !== "/verify_email") continue;
      const key = `${route.method} ${toOpenApiPath(route.path)}`;
      if (!NOT_OPERATIONS.test(key)) served.add(key);
    }
    const documented = (await openApiOperations()).map(operationKey);
    expect([...served].sort()).toEqual([...new Set(documented)].sort());
    // Connect serves exactly the proto's RPCs.
    expect([...procedures].sort()).toEqual(SimpleBank.methods.map((m) => m.name).sort());
  });
});

const PROBES = [
  "/admin",
  "/admin/",
  "/admin/users",
  "/debug",
  "/debug/pprof",
  "/debug/vars",
  "/metrics",
  "/stats",
  "/status",
  "/health",
  "/env",
  "/.env",
  "/.env.local",
  "/.git/config",
  "/.git/HEAD",
  "/package.json",
  "/bun.lock",
  "/src/main.ts",
  "/node_modules/hono/package.json",
  "/docs/assets/../../package.json",
  "/docs/assets/%2e%2e/%2e%2e/package.json",
  "/docs/assets/secret.txt",
  "/openapi.yaml",
  "/openapi.yml",
  "/swagger.json",
  "/swagger",
  "/swagger-ui.html",
  "/api-docs",
  "/v2/api-docs",
  "/v3/api-docs",
  "/graphql",
  "/actuator",
  "/actuator/health",
  "/actuator/env",
  "/server-status",
  "/console",
  "/phpinfo.php",
  "/wp-admin",
  "/config.json",
  "/.well-known/security.txt",
  "/v1",
  "/v1/",
  "/v1/list_accounts",
  "/v1/accounts",
  "/v2/users",
  "/api/users",
  "/users",
  "/users/bank",
  "/pb.SimpleBank",
  "/pb.SimpleBank/",
  "/pb.SimpleBank/Nope",
  "/pb.SimpleBank/GrantRole",
  "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  "/grpc.health.v1.Health/Check",
];

describe("API9: nothing undocumented answers", () => {
  test("the paths scanners try first: 404 problem+json (405 only where the path is documented)", async () => {
    const user = await signUp();
    const operations = await openApiOperations();
    for (const path of PROBES) {
      const known = documentedMethods(operations, path).size > 0;
      const reply = await call("GET", path, { token: user.accessToken });
      const expected = known ? 405 : 404;
      if (reply.status !== expected) {
        throw new Error(`GET ${path}: expected ${expected}, got ${reply.status}`);
      }
      expect(reply.headers.get("Content-Type")).toBe("application/problem+json");
      const posted = await call("POST", path, { token: user.accessToken, body: {} });
      expect([404, 405, 400, 415]).toContain(posted.status);
      if (!known) expect(posted.status).toBe(404);
    }
  });

  test("every documented path answers undocumented methods with 405, Allow listing the documented ones", async () => {
    const operations = await openApiOperations();
    for (const path of new Set(operations.map((op) => op.path))) {
      const concrete = path.replace(/\{[^}]+\}/g, (name) =>
        name === "{code}" ? "not_found" : name === "{username}" ? "someone" : "1",
      );
      const methods = documentedMethods(operations, concrete);
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
        if (methods.has(method)) continue;
        const reply = await call(method, concrete);
        if (reply.status !== 405) throw new Error(`${method} ${concrete}: ${reply.status}`);
        expect(reply.headers.get("Content-Type")).toBe("application/problem+json");
        const allow = (reply.headers.get("Allow") ?? "").split(/,\s*/).filter((m) => m !== "HEAD");
        expect(allow.sort()).toEqual([...methods].sort());
      }
    }
  });

  // Bun's HTTP server only: in front of a Worker, Cloudflare's edge (locally miniflare's own
  // server, which holds such a socket open) deals with the method before the isolate does.
  test.skipIf(TEST_TARGET === "edge")(
    "TRACE and other odd methods over a raw socket: never 2xx, never an echo of the request",
    async () => {
      const url = new URL(await targetUrl());
      const raw = (method: string, path: string) =>
        new Promise<string>((resolve, reject) => {
          let reply = "";
          const socket = connect(Number(url.port), url.hostname, () =>
            socket.write(
              `${method} ${path} HTTP/1.1\r\nHost: ${url.host}\r\nX-Secret-Probe: echo-me\r\nConnection: close\r\n\r\n`,
            ),
          );
          socket.on("data", (data) => {
            reply += String(data);
          });
          socket.on("error", reject);
          socket.on("close", () => resolve(reply));
        });
      // Methods the HTTP server knows reach the app: 405 on a documented path, 404 elsewhere.
      for (const method of ["TRACE", "CONNECT", "PROPFIND"]) {
        for (const [path, expected] of [
          ["/healthz", 405],
          ["/users", 405],
          ["/nowhere", 404],
        ] as const) {
          const reply = await raw(method, path);
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
          if (status !== expected) throw new Error(`${method} ${path}: ${reply.slice(0, 200)}`);
          expect(reply.toLowerCase()).toContain("content-type: application/problem+json");
          expect(reply).not.toContain("echo-me");
        }
      }
      // Methods it does not know are refused before the app: never a 2xx, never an echo.
      for (const method of ["TRACK", "FOO"]) {
        const reply = await raw(method, "/healthz");
        expect(reply).not.toMatch(/^HTTP\/1\.1 2/);
        expect(reply).not.toContain("echo-me");
      }
    },
  );
});
