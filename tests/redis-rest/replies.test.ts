import { afterAll, describe, expect, test } from "bun:test";
import { replyToJson } from "../../tools/redis-rest/reply-json.ts";
import { deleteKeys, keyPrefix, type RedisRest, startRedisRest } from "../support/redis.ts";

/**
 * Replies byte for byte: every RESP2 reply type, binary values and large replies, as the
 * endpoint answers them over HTTP; and the JSON encoding of replies, which needs no Redis.
 */

const rest = startRedisRest();
const prefix = keyPrefix("replies");
const key = (name: string) => `${prefix}${name}`;
const bytes = (text: string) => new TextEncoder().encode(text);
const b64 = (value: string | Uint8Array) => Buffer.from(value).toString("base64");
const BASE64 = { "Upstash-Encoding": "base64" };

function endpoint(): RedisRest {
  if (!rest) throw new Error("REDIS_URL is unset");
  return rest;
}

async function call(
  path: string,
  body: RequestInit["body"],
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${endpoint().url}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${endpoint().token}`, ...headers },
    body,
  });
  return { status: response.status, body: await response.json() };
}

const command = (args: unknown[], headers?: Record<string, string>) =>
  call("/", JSON.stringify(args), headers);

afterAll(async () => {
  if (!rest) return;
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

describe.skipIf(!rest)("reply types", () => {
  test("every RESP2 type, nested arrays, nil and empty values", async () => {
    const response = await call(
      "/pipeline",
      JSON.stringify([
        ["SET", key("s"), "hello"],
        ["NOSUCHCOMMAND"],
        ["INCRBY", key("n"), "42"],
        ["INCRBY", key("negative"), "-9007199254740991"],
        ["GET", key("s")],
        ["SET", key("empty"), ""],
        ["GET", key("empty")],
        ["GET", key("missing")],
        ["LRANGE", key("missing"), "0", "-1"],
        ["EVAL", "return {'a', {1, {false}}, redis.status_reply('QUEUED')}", "0"],
        ["SET", key("crlf"), "a\r\nb"],
        ["GET", key("crlf")],
      ]),
    );
    expect(response).toEqual({
      status: 200,
      body: [
        { result: "OK" },
        { error: expect.stringMatching(/^ERR unknown command/) },
        { result: 42 },
        { result: -9007199254740991 },
        { result: "hello" },
        { result: "OK" },
        { result: "" },
        { result: null },
        { result: [] },
        { result: ["a", [1, [null]], "QUEUED"] },
        { result: "OK" },
        { result: "a\r\nb" },
      ],
    });
  });

  test("replies and arguments pass as Redis has them, never reshaped on the way", async () => {
    expect((await command(["hset", key("h"), "f1", "v1", "f2", "v2"])).body).toEqual({
      result: 2,
    });
    expect((await command(["hgetall", key("h")])).body).toEqual({
      result: ["f1", "v1", "f2", "v2"],
    });
    // A lone value argument stays one argument (not spread into field/value pairs).
    expect(await call(`/hset/${key("h2")}`, "ab")).toEqual({
      status: 400,
      body: { error: "ERR wrong number of arguments for 'hset' command" },
    });
  });

  test("a nil array (a blocking pop that timed out) is null", async () => {
    expect(await command(["BLPOP", key("no-queue"), "0.01"])).toEqual({
      status: 200,
      body: { result: null },
    });
  });
});

describe.skipIf(!rest)("binary values", () => {
  test("bulk strings are binary-safe (CR, LF, NUL, bytes above 0x7f), in and out", async () => {
    const payload = new Uint8Array([0, 13, 10, 255, 128, 0x4f, 0x4b, 13]);
    expect(await call(`/set/${key("bin")}`, payload)).toEqual({
      status: 200,
      body: { result: "OK" },
    });
    expect(await command(["STRLEN", key("bin")])).toEqual({ status: 200, body: { result: 8 } });
    expect(await command(["GET", key("bin")], BASE64)).toEqual({
      status: 200,
      body: { result: b64(payload) },
    });
    expect(await command(["MGET", key("bin"), key("missing")], BASE64)).toEqual({
      status: 200,
      body: { result: [b64(payload), null] },
    });
  });

  test("text arguments are sent as UTF-8: lengths count bytes, not characters", async () => {
    expect((await command(["SET", key("k✓"), "✓é"])).body).toEqual({ result: "OK" });
    expect((await command(["STRLEN", key("k✓")])).body).toEqual({ result: 5 });
    expect((await command(["GET", key("k✓")])).body).toEqual({ result: "✓é" });
    expect((await command(["GET", key("k✓")], BASE64)).body).toEqual({ result: b64("✓é") });
  });
});

describe.skipIf(!rest)("large replies", () => {
  test("20 000 items arriving in many chunks, quickly", async () => {
    const items = Array.from({ length: 20_000 }, (_, i) => `value-${i}`);
    expect((await command(["RPUSH", key("list"), ...items])).body).toEqual({ result: 20_000 });
    const started = performance.now();
    const { body } = await command(["LRANGE", key("list"), "0", "-1"]);
    expect(performance.now() - started).toBeLessThan(2_000);
    const result = (body as { result: string[] }).result;
    expect(result.length).toBe(items.length);
    expect(result.at(-1)).toBe("value-19999");
  });

  test("a 4 MB bulk string", async () => {
    const { status, body } = await command([
      "EVAL",
      "return string.rep(ARGV[1], tonumber(ARGV[2]))",
      "0",
      "ab",
      String(2 * 1024 * 1024),
    ]);
    expect(status).toBe(200);
    const result = (body as { result: string }).result;
    expect(result.length).toBe(4 * 1024 * 1024);
    expect(result.startsWith("abab")).toBe(true);
    expect(result.endsWith("abab")).toBe(true);
  });
});

describe("replyToJson", () => {
  test("base64: every string except a top-level OK, numbers and nil untouched", () => {
    expect(replyToJson("OK", true)).toBe("OK");
    expect(replyToJson(bytes("OK"), true)).toBe("OK");
    expect(replyToJson("PONG", true)).toBe(b64("PONG"));
    expect(replyToJson(bytes("héllo"), true)).toBe(b64("héllo"));
    expect(replyToJson(7, true)).toBe(7);
    expect(replyToJson(null, true)).toBeNull();
    // Inside arrays the client decodes every string, "OK" included.
    expect(replyToJson(["OK", bytes("OK"), 1, null, [bytes("x")]], true)).toEqual([
      b64("OK"),
      b64("OK"),
      1,
      null,
      [b64("x")],
    ]);
    expect(replyToJson(new Uint8Array([255, 0]), true)).toBe("/wA=");
  });

  test("without base64: UTF-8 text, invalid bytes replaced", () => {
    expect(replyToJson(bytes("héllo"), false)).toBe("héllo");
    expect(replyToJson(["OK", bytes("a"), 2], false)).toEqual(["OK", "a", 2]);
    expect(replyToJson(new Uint8Array([0x61, 0xff]), false)).toBe("a\uFFFD");
  });
});
