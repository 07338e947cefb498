import { afterAll, describe, expect, test } from "bun:test";
import { sha1Hex } from "../../tools/redis-rest/scripts.ts";
import { deleteKeys, keyPrefix, type RedisRest, startRedisRest } from "../support/redis.ts";

/** The endpoint at the HTTP level, with plain fetch: statuses, bodies, encodings. */

const rest = startRedisRest();
const prefix = keyPrefix("wire");
const key = (name: string) => `${prefix}${name}`;
const b64 = (value: string | Uint8Array) => Buffer.from(value).toString("base64");

function endpoint(): RedisRest {
  if (!rest) throw new Error("REDIS_URL is unset");
  return rest;
}

interface Call {
  method?: string;
  body?: RequestInit["body"];
  headers?: Record<string, string>;
  auth?: string | null;
}

async function call(path: string, options: Call = {}): Promise<{ status: number; body: unknown }> {
  const { url, token } = endpoint();
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth === undefined ? `Bearer ${token}` : options.auth;
  if (auth !== null) headers.Authorization = auth;
  const response = await fetch(`${url}${path}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body,
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
}

const command = (args: unknown[], headers?: Record<string, string>) =>
  call("/", { body: JSON.stringify(args), headers });
const BASE64 = { "Upstash-Encoding": "base64" };

afterAll(async () => {
  if (!rest) return;
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

describe.skipIf(!rest)("authentication", () => {
  test.each([
    ["missing", null],
    ["wrong", "Bearer not-the-token"],
    ["empty", "Bearer "],
    ["not a bearer", "Basic dXNlcjpwYXNz"],
  ])("%s token → 401 {error: Unauthorized}", async (_label, auth) => {
    for (const path of ["/", "/get/x", "/pipeline", "/multi-exec", "/no/such/path"]) {
      const response = await call(path, { auth, body: '["PING"]' });
      expect(response).toEqual({ status: 401, body: { error: "Unauthorized" } });
    }
  });

  test("the token also works as ?_token= and with a lower-case scheme", async () => {
    expect(await call(`/get/${key("none")}?_token=${endpoint().token}`, { auth: null })).toEqual({
      status: 200,
      body: { result: null },
    });
    expect(await call("/", { auth: `bearer ${endpoint().token}`, body: '["PING"]' })).toMatchObject(
      { status: 200 },
    );
  });
});

describe.skipIf(!rest)("single commands", () => {
  test("POST / → {result}; numbers and booleans are sent as strings", async () => {
    expect(await command(["SET", key("n"), 42])).toEqual({ status: 200, body: { result: "OK" } });
    expect(await command(["INCRBYFLOAT", key("n"), 0.5])).toEqual({
      status: 200,
      body: { result: "42.5" },
    });
    expect(await command(["SET", key("b"), true])).toEqual({ status: 200, body: { result: "OK" } });
    expect(await command(["GET", key("b")])).toEqual({ status: 200, body: { result: "true" } });
    expect(await command(["get", key("missing")])).toEqual({ status: 200, body: { result: null } });
  });

  test("a Redis error → 400 {error} with Redis's message", async () => {
    expect(await command(["GET"])).toEqual({
      status: 400,
      body: { error: "ERR wrong number of arguments for 'get' command" },
    });
    const unknown = await command(["NOSUCHCOMMAND", "x"]);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ error: expect.stringMatching(/^ERR unknown command/) });
  });

  test("path style: GET /set/k/v, percent-encoded segments, ?EX=… appended", async () => {
    const name = key("path a/b ü");
    expect(await call(`/set/${encodeURIComponent(name)}/some%20value?EX=100`)).toEqual({
      status: 200,
      body: { result: "OK" },
    });
    expect(await call(`/get/${encodeURIComponent(name)}`)).toEqual({
      status: 200,
      body: { result: "some value" },
    });
    const ttl = await call(`/TTL/${encodeURIComponent(name)}`);
    expect(ttl.body).toEqual({ result: expect.any(Number) });
    expect((ttl.body as { result: number }).result).toBeGreaterThan(90);
  });

  test("POST /set/k: the body (binary) is the last argument", async () => {
    const bytes = new Uint8Array([0, 1, 2, 13, 10, 127, 128, 254, 255]);
    expect(await call(`/set/${key("bin")}`, { body: bytes })).toEqual({
      status: 200,
      body: { result: "OK" },
    });
    expect(await call(`/get/${key("bin")}`, { headers: BASE64 })).toEqual({
      status: 200,
      body: { result: b64(bytes) },
    });
    expect(await call(`/strlen/${key("bin")}`)).toEqual({ status: 200, body: { result: 9 } });
    expect(await call(`/set/${key("json")}?NX`, { body: '{"a":[1,2]}', method: "PUT" })).toEqual({
      status: 200,
      body: { result: "OK" },
    });
    expect(await command(["GET", key("json")])).toEqual({
      status: 200,
      body: { result: '{"a":[1,2]}' },
    });
  });

  test("GET / answers like PING", async () => {
    expect(await call("/")).toEqual({ status: 200, body: { result: "PONG" } });
  });

  test("upstash-sync-token and telemetry headers are accepted and ignored", async () => {
    const response = await command(["PING"], {
      "upstash-sync-token": "whatever",
      "Upstash-Telemetry-Sdk": "@upstash/redis@1.39.0",
      "Upstash-Telemetry-Runtime": "bun",
      "Upstash-Telemetry-Platform": "unknown",
    });
    expect(response).toEqual({ status: 200, body: { result: "PONG" } });
  });
});

describe.skipIf(!rest)("Upstash-Encoding: base64", () => {
  test("strings are base64 except a top-level OK; integers and nil as they are", async () => {
    await command(["SET", key("ok"), "OK"]);
    await command(["SET", key("u"), "héllo ✓"]);
    expect((await command(["SET", key("x"), "1"], BASE64)).body).toEqual({ result: "OK" });
    expect((await command(["PING"], BASE64)).body).toEqual({ result: b64("PONG") });
    expect((await command(["TYPE", key("x")], BASE64)).body).toEqual({ result: b64("string") });
    expect((await command(["GET", key("u")], BASE64)).body).toEqual({ result: b64("héllo ✓") });
    expect((await command(["INCR", key("x")], BASE64)).body).toEqual({ result: 2 });
    expect((await command(["GET", key("none")], BASE64)).body).toEqual({ result: null });
    expect((await command(["MGET", key("ok"), key("none"), key("u")], BASE64)).body).toEqual({
      result: [b64("OK"), null, b64("héllo ✓")],
    });
    expect((await command(["EVAL", "return {1, 'a', {'OK', false}}", "0"], BASE64)).body).toEqual({
      result: [1, b64("a"), [b64("OK"), null]],
    });
    // Errors are never encoded.
    expect((await command(["INCR", key("u")], BASE64)).body).toEqual({
      error: "ERR value is not an integer or out of range",
    });
  });

  test("without the header: UTF-8 text", async () => {
    await command(["SET", key("t"), "héllo ✓"]);
    expect((await command(["MGET", key("t"), key("none")])).body).toEqual({
      result: ["héllo ✓", null],
    });
  });
});

describe.skipIf(!rest)("/pipeline", () => {
  test("an array of {result}|{error}; a failing command does not stop the others", async () => {
    const response = await call("/pipeline", {
      headers: BASE64,
      body: JSON.stringify([
        ["SET", key("p"), "v"],
        ["INCR", key("p")],
        ["APPEND", key("p"), "w"],
        ["MULTI"],
        ["GET", key("p")],
      ]),
    });
    expect(response).toEqual({
      status: 200,
      body: [
        { result: "OK" },
        { error: "ERR value is not an integer or out of range" },
        { result: 2 },
        { error: expect.stringMatching(/^ERR Command is not available over the REST endpoint/) },
        { result: b64("vw") },
      ],
    });
  });

  test("malformed pipelines → 400", async () => {
    for (const body of ["[]", '["GET","k"]', '[["GET","k"],[]]', '[["SET","k",{"a":1}]]', "{}"]) {
      const response = await call("/pipeline", { body });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: expect.stringMatching(/^ERR /) });
    }
  });
});

describe.skipIf(!rest)("/multi-exec", () => {
  test("runs atomically and answers one entry per command (run-time errors included)", async () => {
    const response = await call("/multi-exec", {
      body: JSON.stringify([
        ["SET", key("m"), "1"],
        ["INCR", key("m")],
        ["HGET", key("m"), "f"],
        ["GET", key("m")],
      ]),
    });
    expect(response).toEqual({
      status: 200,
      body: [
        { result: "OK" },
        { result: 2 },
        { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
        { result: "2" },
      ],
    });
  });

  test("a command refused while queuing discards the transaction: 400, nothing applied", async () => {
    const response = await call("/multi-exec", {
      body: JSON.stringify([["SET", key("discarded"), "1"], ["GET"], ["INCR", key("discarded")]]),
    });
    expect(response).toEqual({
      status: 400,
      body: {
        error:
          "EXECABORT Transaction discarded because of previous errors: command 2 (GET): ERR wrong number of arguments for 'get' command",
      },
    });
    expect((await command(["GET", key("discarded")])).body).toEqual({ result: null });

    const refused = await call("/multi-exec", {
      body: JSON.stringify([
        ["SET", key("discarded"), "1"],
        ["WATCH", key("discarded")],
      ]),
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ error: expect.stringContaining("command 2 (WATCH)") });
    expect((await command(["GET", key("discarded")])).body).toEqual({ result: null });
  });
});

describe.skipIf(!rest)("scripts", () => {
  const source = `#!lua flags=allow-key-locking,no-writes\n-- ${prefix}\nreturn ARGV[1]`;
  const originalSha = sha1Hex(source);

  test("SCRIPT LOAD of a shebang script answers the client's SHA1, which EVALSHA then finds", async () => {
    expect((await command(["EVALSHA", originalSha, "0", "x"])).body).toEqual({
      error: "NOSCRIPT No matching script. Please use EVAL.",
    });
    expect(await command(["SCRIPT", "LOAD", source])).toEqual({
      status: 200,
      body: { result: originalSha },
    });
    expect(await command(["EVALSHA", originalSha, "0", "hello"])).toEqual({
      status: 200,
      body: { result: "hello" },
    });
    expect(await command(["EVALSHA_RO", originalSha.toUpperCase(), "0", "ro"])).toEqual({
      status: 200,
      body: { result: "ro" },
    });
    expect((await command(["SCRIPT", "EXISTS", originalSha, "0".repeat(40)])).body).toEqual({
      result: [1, 0],
    });
  });

  test("the known flags are kept: a no-writes script still may not write", async () => {
    const writer = `#!lua flags=allow-key-locking,no-writes\nreturn redis.call('SET', KEYS[1], 'x') -- ${prefix}`;
    const response = await command(["EVAL", writer, "1", key("ro")]);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({
      error: expect.stringContaining("Write commands are not allowed"),
    });
  });
});

describe.skipIf(!rest)("bad requests", () => {
  test("bad JSON, non-array and empty bodies → 400 {error}", async () => {
    for (const body of ["[GET", "", '{"cmd":"GET"}', "[]", '"GET"', "[null]", '[["GET"]]']) {
      const response = await call("/", { body });
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: expect.stringMatching(/^ERR /) });
    }
  });

  test("unknown paths → 404, other methods → 405", async () => {
    for (const path of ["/.well-known/x", "/pipeline/extra", "/multi-exec/x", "/%20get/k"]) {
      expect(await call(path)).toEqual({ status: 404, body: { error: "Not Found" } });
    }
    expect((await call("/pipeline")).status).toBe(405);
    expect((await call("/", { method: "DELETE" })).status).toBe(405);
    expect((await call("/set/k/v", { method: "PATCH" })).status).toBe(405);
  });

  test("commands that would take over a shared connection → 400", async () => {
    for (const args of [
      ["SUBSCRIBE", "ch"],
      ["SELECT", "1"],
      ["MULTI"],
      ["CLIENT", "REPLY", "OFF"],
    ]) {
      const response = await command(args);
      expect(response.status).toBe(400);
      expect(response.body).toEqual({
        error: expect.stringMatching(/^ERR Command is not available/),
      });
    }
  });

  test("a body over 1 MiB → 413, whether or not Content-Length says so", async () => {
    const big = JSON.stringify(["SET", key("big"), "x".repeat(1024 * 1024)]);
    expect(await call("/", { body: big })).toEqual({
      status: 413,
      body: { error: "ERR request body exceeds 1048576 bytes" },
    });
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(0x61));
        controller.close();
      },
    });
    expect((await call(`/set/${key("big")}`, { body: chunked })).status).toBe(413);
    expect((await command(["EXISTS", key("big")])).body).toEqual({ result: 0 });
    // Just under the limit is fine.
    const fits = JSON.stringify(["SET", key("big"), "x".repeat(1024 * 1024 - 100)]);
    expect((await call("/", { body: fits })).status).toBe(200);
  });

  test("Upstash-Response-Format other than json → 400", async () => {
    const response = await command(["PING"], { "Upstash-Response-Format": "resp2" });
    expect(response.status).toBe(400);
  });
});

describe.skipIf(!rest)("blocking commands", () => {
  test("BLPOP waits on a connection of its own: other requests are not held up", async () => {
    const waiting = command(["BLPOP", key("queue"), "5"]);
    await Bun.sleep(50);
    const started = performance.now();
    expect((await command(["PING"])).body).toEqual({ result: "PONG" });
    expect((await command(["RPUSH", key("queue"), "job-1"])).body).toEqual({ result: 1 });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await waiting).toEqual({ status: 200, body: { result: [key("queue"), "job-1"] } });
  });
});
