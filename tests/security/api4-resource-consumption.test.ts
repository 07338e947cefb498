import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import {
  call,
  depositTo,
  expectProblem,
  openAccountFor,
  type Reply,
  signUp,
  type TestUser,
  targetUrl,
} from "../support/app.ts";
import { TEST_ENV, testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import {
  freePort,
  type ServerProcess,
  startServer,
  stopServer,
  waitUntilReady,
} from "../support/process.ts";
import { bankApp, connectCall } from "./support.ts";

/**
 * OWASP API4:2023 Unrestricted Resource Consumption: what one client can make the server hold
 * or do. Bodies over 64 KiB are 413 (with or without Content-Length); page sizes are capped;
 * deep JSON, long strings and long headers are a 4xx, never a 5xx; a client that trickles its
 * headers or body is cut off by the server (a spawned `bun src/main.ts`, raw TCP); rate limits
 * answer 429 with Retry-After.
 */

const LIMIT = 64 * 1024;

/** Never a 5xx: a clear 4xx problem+json. */
function expectClientError(reply: Reply, where: string): void {
  if (reply.status < 400 || reply.status >= 500) {
    throw new Error(`${where}: expected a 4xx, got ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
  expect(reply.headers.get("Content-Type")).toBe("application/problem+json");
}

let user: TestUser;

beforeAll(async () => {
  user = await signUp();
});

describe("API4: body size", () => {
  test("a JSON body of 64 KiB + 1 byte is 413 on every kind of route; just under passes the limit", async () => {
    const padding = (bytes: number) => `{"pad":"${"a".repeat(bytes - 10)}"}`;
    for (const [path, token] of [
      ["/users", undefined],
      ["/users/login", undefined],
      ["/transfers", user.accessToken],
      ["/v1/create_user", undefined],
    ] as const) {
      const over = await call("POST", path, { body: padding(LIMIT + 1), token });
      expectProblem(over, 413, "payload_too_large");
      // At the limit the body is read and judged on its content instead (400, not 413).
      const under = await call("POST", path, { body: padding(LIMIT), token });
      expect(under.status).toBe(400);
    }
  });

  test("a chunked body (no Content-Length) over 64 KiB to a live server: 413", async () => {
    const chunk = new TextEncoder().encode(`{"pad":"${"a".repeat(16 * 1024)}`);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 6; i++) controller.enqueue(chunk);
        controller.enqueue(new TextEncoder().encode('"}'));
        controller.close();
      },
    });
    const res = await fetch(`${await targetUrl()}/users`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
      // A streamed request body needs half duplex (the fetch spec).
      duplex: "half",
    });
    expect(res.status).toBe(413);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    await res.arrayBuffer();
  });

  test("a Connect message over 64 KiB: resource_exhausted, not read", async () => {
    const reply = await connectCall("LoginUser", {
      username: "a".repeat(LIMIT),
      password: "whatever1",
    });
    expect(reply.body.code).toBe("resource_exhausted");
  });
});

describe("API4: page sizes and numbers", () => {
  test("page_size above 100 or below 1, or absurd page numbers, are 400; never a 5xx", async () => {
    const account = await openAccountFor(user);
    for (const path of [
      "/accounts?page_size=101",
      "/accounts?page_size=1000000",
      "/accounts?page_size=0",
      "/accounts?page_id=0",
      "/accounts?page_id=99999999999999999999",
      `/accounts/${account.id}/entries?page_size=101`,
      `/transfers?account_id=${account.id}&page_size=101`,
      "/transfers?page_size=-1",
      `/accounts/${account.id}/entries?page_size=1e3`,
    ]) {
      const reply = await call("GET", path, { token: user.accessToken });
      expectProblem(reply, 400, "validation_failed");
    }
    // The largest page a client may ask for is served.
    expect((await call("GET", "/accounts?page_size=100", { token: user.accessToken })).status).toBe(
      200,
    );
    // A far page that fits the integer rules: an empty list, no error.
    const far = await call<unknown>("GET", "/accounts?page_id=90071992547409&page_size=100", {
      token: user.accessToken,
    });
    expect(far.status === 200 || far.status === 400).toBe(true);
    if (far.status === 200) expect(far.body).toEqual([]);
  });
});

describe("API4: deep and long input", () => {
  test("deeply nested JSON (arrays and objects, just under 64 KiB) is a 4xx", async () => {
    const depth = 20_000;
    const bodies = [
      `${"[".repeat(depth)}${"]".repeat(depth)}`,
      `{"username":${'{"a":'.repeat(6_000)}1${"}".repeat(6_000)}}`,
      `{"full_name":${"[".repeat(depth)}${"]".repeat(depth)}}`,
    ];
    for (const body of bodies) {
      expect(body.length).toBeLessThan(LIMIT);
      for (const path of ["/users", "/v1/create_user", "/users/login"]) {
        expectClientError(await call("POST", path, { body }), `deep JSON to ${path}`);
      }
      const transfer = await call("POST", "/transfers", { body, token: user.accessToken });
      expectClientError(transfer, "deep JSON to /transfers");
    }
    // The server is still fine.
    expect((await call("GET", "/healthz")).status).toBe(200);
  });

  test("long strings in every field: 400 naming the field", async () => {
    const long = "a".repeat(12_000);
    const reply = await call<{ errors: { field: string }[] }>("POST", "/users", {
      body: { username: long, password: long, full_name: long, email: `${long}@example.com` },
    });
    expectProblem(reply, 400, "validation_failed");
    expect(reply.body.errors.map((e) => e.field).sort()).toEqual([
      "email",
      "full_name",
      "password",
      "username",
    ]);
    const memo = await call("POST", "/transfers", {
      token: user.accessToken,
      body: { from_account_id: 1, to_account_id: 2, amount: 1, currency: "USD", memo: long },
    });
    expectProblem(memo, 400, "validation_failed");
  });

  test("long headers and query strings: 4xx (a 100 KB token, Idempotency-Key, request id, query)", async () => {
    const token = `v4.local.${"A".repeat(100_000)}`;
    expectProblem(await call("GET", "/users/me", { token }), 401, "unauthenticated");
    const key = await call("POST", "/transfers", {
      token: user.accessToken,
      headers: { "Idempotency-Key": "k".repeat(256) },
      body: { from_account_id: 1, to_account_id: 2, amount: 1, currency: "USD" },
    });
    expectProblem(key, 400, "validation_failed");
    // An over-long X-Request-Id is not echoed (a fresh id instead).
    const id = await call("GET", "/healthz", { headers: { "X-Request-Id": "r".repeat(10_000) } });
    expect(id.status).toBe(200);
    expect((id.headers.get("X-Request-Id") ?? "").length).toBeLessThanOrEqual(200);
    const query = await call("GET", `/accounts?page_size=${"9".repeat(20_000)}`, {
      token: user.accessToken,
    });
    expectProblem(query, 400, "validation_failed");
    // Thousands of query parameters: answered at once, never a 5xx.
    const many = Array.from({ length: 2_000 }, (_, i) => `x${i}=1`).join("&");
    const started = Date.now();
    const crowded = await call("GET", `/accounts?${many}`, { token: user.accessToken });
    expect(crowded.status).toBeLessThan(500);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe("API4: rate limits answer 429 with Retry-After", () => {
  const LIMITS = {
    RATE_LIMIT_ENABLED: "true",
    RATE_LIMIT_TRANSFERS: "3/1h",
    RATE_LIMIT_SIGNUP_IP: "2/1h",
  };

  test("transfers per user and sign-ups per IP", async () => {
    const bank = await bankApp(LIMITS, { trustProxyHops: 0, connectionIp: () => "192.0.2.40" });
    const payer = await bank.signUp();
    const from = await openAccountFor({ ...user, ...payer } as TestUser);
    await depositTo(from, 1_000);
    const to = await openAccountFor(await signUp());
    const transfer = () =>
      bank.request("POST", "/transfers", {
        token: payer.accessToken,
        body: { from_account_id: from.id, to_account_id: to.id, amount: 1, currency: "USD" },
      });
    for (let i = 0; i < 3; i++) expect((await transfer()).status).toBe(201);
    const limited = await transfer();
    expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    // The sign-up allowance of this IP: bank.signUp() used one, one more, then 429.
    const register = () =>
      bank.request("POST", "/users", {
        body: {
          username: uniqueName("rl4"),
          password: "long enough password",
          full_name: "Rate Limited",
          email: `${uniqueName("rl4")}@example.com`,
        },
      });
    expect((await register()).status).toBe(201);
    const refused = await register();
    expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
  });
});

// ---- slow clients against a real server ------------------------------------------------------

describe("API4: slow clients are cut off (a spawned server, raw TCP)", () => {
  let server: ServerProcess;

  beforeAll(async () => {
    const database = await testDatabase();
    const port = await freePort();
    server = startServer({
      ...TEST_ENV,
      DATABASE_URL: database.url,
      PORT: String(port),
      WORKER_ENABLED: "false",
    });
    await waitUntilReady(server);
  }, 40_000);

  afterAll(async () => {
    if (server) await stopServer(server);
  });

  /** Opens a socket, sends `first`, then one piece of `drip` per second; resolves when closed. */
  function slowClient(
    first: string,
    drip: string,
  ): Promise<{ closedAfterMs: number; reply: string }> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      let reply = "";
      const socket = connect(server.port, "127.0.0.1", () => socket.write(first));
      let i = 0;
      const timer = setInterval(() => {
        if (drip && !socket.destroyed) socket.write(drip[i++ % drip.length] ?? "");
      }, 1_000);
      const giveUp = setTimeout(() => {
        socket.destroy();
        reject(new Error(`still connected after 30 s: ${first.split("\r\n")[0]}`));
      }, 30_000);
      socket.on("data", (data) => {
        reply += String(data);
      });
      socket.on("error", () => {});
      socket.on("close", () => {
        clearInterval(timer);
        clearTimeout(giveUp);
        resolve({ closedAfterMs: Date.now() - started, reply });
      });
    });
  }

  test("stalled headers, trickled headers and a trickled body are all disconnected within 20 s, while others are served", async () => {
    const probes = Promise.all([
      slowClient("GET /healthz HTTP/1.1\r\nHost: bank\r\n", ""),
      slowClient("GET /healthz HTTP/1.1\r\nHost: bank\r\n", "X-Slow: abcdefghijklmnop\r\n"),
      slowClient(
        "POST /users/login HTTP/1.1\r\nHost: bank\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n",
        '{"username":"aaaaaaaaaaaaaaaa',
      ),
    ]);
    // Meanwhile, an ordinary client is served promptly.
    await Bun.sleep(2_000);
    const started = Date.now();
    const healthy = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(healthy.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const probe of await probes) {
      expect(probe.closedAfterMs).toBeLessThan(20_000);
      // Nothing was ever handed to a handler: no 2xx for a request that never completed.
      expect(probe.reply).not.toMatch(/^HTTP\/1\.1 2/);
    }
  }, 40_000);
});
