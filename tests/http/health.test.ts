import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type DatabaseHandle, openDatabase } from "../../src/core/db/client.ts";
import { createApp } from "../../src/core/http/app.ts";
import { testHttpDeps } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { freePort } from "../support/process.ts";

const appOn = async (database: Pick<DatabaseHandle, "db">) =>
  createApp(await testHttpDeps({ database: () => database.db }));

describe("operational endpoints", () => {
  let unreachable: DatabaseHandle;
  let unmigrated: DatabaseHandle;
  beforeAll(async () => {
    unreachable = openDatabase({
      url: `postgres://postgres@127.0.0.1:${await freePort()}/nothing`,
      poolMax: 1,
    });
    unmigrated = openDatabase({ url: await (await testDatabase()).scratchDatabase(), poolMax: 1 });
  });
  afterAll(async () => {
    await unreachable.close();
    await unmigrated.close();
  });

  test("GET /healthz: 200 without touching the database", async () => {
    const res = await (await appOn(unreachable)).request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  test("GET /readyz: 200 when the database answers and migrations are applied", async () => {
    const res = await (await appOn((await testDatabase()).handle)).request("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: "ok",
      checks: { database: "ok", migrations: "ok" },
    });
  });

  test("GET /readyz: 503 problem+json with Retry-After when the database is unreachable", async () => {
    const res = await (await appOn(unreachable)).request("/readyz");
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(res.headers.get("retry-after")).toBe("5");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      type: "/problems/unavailable",
      status: 503,
      code: "unavailable",
      checks: { database: "failing", migrations: "failing" },
    });
  });

  test("GET /readyz: 503 with migrations pending when the database is behind this build", async () => {
    const res = await (await appOn(unmigrated)).request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ checks: { database: "ok", migrations: "pending" } });
  });

  test("unknown route: 404 problem+json with the request id", async () => {
    const res = await (await appOn(unreachable)).request("/no/such/route");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: "/problems/not_found", status: 404, code: "not_found" });
    expect(body.request_id).toBe(res.headers.get("x-request-id") ?? "missing");
  });

  test("X-Request-Id: a sane one is echoed, anything else is replaced", async () => {
    const app = await appOn(unreachable);
    const echoed = await app.request("/healthz", { headers: { "X-Request-Id": "req-123.abc" } });
    expect(echoed.headers.get("x-request-id")).toBe("req-123.abc");
    for (const bad of ["", "has space", "x".repeat(200), "<script>"]) {
      const res = await app.request("/healthz", { headers: { "X-Request-Id": bad } });
      const id = res.headers.get("x-request-id") ?? "";
      expect(id).not.toBe(bad);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});
