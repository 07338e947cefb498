import { afterAll, describe, expect, test } from "bun:test";
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { sha1Hex } from "../../tools/redis-rest/scripts.ts";
import {
  deleteKeys,
  directRedis,
  keyPrefix,
  type RedisRest,
  startRedisRest,
} from "../support/redis.ts";

/**
 * The real @upstash/redis client (defaults: base64 responses, automatic deserialisation,
 * auto-pipelining, telemetry headers) against the endpoint in front of the real Redis.
 */

const rest = startRedisRest();
const prefix = keyPrefix("upstash-client");
const key = (name: string) => `${prefix}${name}`;

function endpoint(): RedisRest {
  if (!rest) throw new Error("REDIS_URL is unset");
  return rest;
}

const client = (options: Partial<RedisConfigNodejs> = {}) =>
  new Redis({ url: endpoint().url, token: endpoint().token, ...options });

afterAll(async () => {
  if (!rest) return;
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

describe.skipIf(!rest)("@upstash/redis through the REST endpoint", () => {
  test("set, get, incr, expire, ttl, del", async () => {
    const redis = client();
    expect(await redis.set(key("s"), "hello")).toBe("OK");
    expect(await redis.get<string>(key("s"))).toBe("hello");
    expect(await redis.incr(key("n"))).toBe(1);
    expect(await redis.incrby(key("n"), 41)).toBe(42);
    expect(await redis.get<number>(key("n"))).toBe(42);
    expect(await redis.expire(key("n"), 100)).toBe(1);
    const ttl = await redis.ttl(key("n"));
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(100);
    expect(await redis.ttl(key("s"))).toBe(-1);
    expect(await redis.del(key("s"), key("n"), key("never-set"))).toBe(2);
    expect(await redis.get(key("s"))).toBeNull();
    expect(await redis.exists(key("n"))).toBe(0);
  });

  test("hset and hgetall (sent to / rather than /pipeline)", async () => {
    const redis = client();
    expect(await redis.hset(key("h"), { a: "1", b: "two", c: { nested: true } })).toBe(3);
    expect(await redis.hget<string>(key("h"), "b")).toBe("two");
    expect(await redis.hgetall(key("h"))).toEqual({ a: 1, b: "two", c: { nested: true } });
    expect(await redis.hgetall(key("no-hash"))).toBeNull();
  });

  test("zadd and zrange, with and without scores", async () => {
    const redis = client();
    expect(
      await redis.zadd(key("z"), { score: 2, member: "two" }, { score: 1, member: "one" }),
    ).toBe(2);
    expect(await redis.zrange(key("z"), 0, -1)).toEqual(["one", "two"]);
    expect(await redis.zrange(key("z"), 0, -1, { withScores: true })).toEqual(["one", 1, "two", 2]);
    expect(await redis.zscore(key("z"), "two")).toBe(2);
  });

  test("mget with a missing key gives null in its place", async () => {
    const redis = client();
    await redis.set(key("m1"), "first");
    await redis.set(key("m3"), "OK"); // the literal OK inside an array is base64 too
    expect(await redis.mget(key("m1"), key("m2"), key("m3"))).toEqual(["first", null, "OK"]);
  });

  const tricky = [
    "héllo wörld ✓ — 日本語 🎉",
    "line1\nline2\r\n\ttabbed",
    "nul\u0000inside",
    "OK",
    "PONG",
    "YWJj", // valid base64 as a value: must not be decoded twice
    "007",
    "",
    " spaces ",
    "\u00ff\u00fe latin-1 range",
  ];
  test.each(tricky.map((value) => [JSON.stringify(value), value]))(
    "%s round-trips through base64",
    async (_label, value) => {
      const redis = client();
      const name = key(`tricky:${sha1Hex(value)}`);
      expect(await redis.set(name, value)).toBe("OK");
      expect(await redis.get<string>(name)).toBe(value);
    },
  );

  test("the same values without base64 responses (responseEncoding: false)", async () => {
    const redis = client({ responseEncoding: false });
    for (const value of tricky.filter((v) => v !== "")) {
      await redis.set(key("plain"), value);
      expect(await redis.get<string>(key("plain"))).toBe(value);
    }
  });

  test("a JSON object round-trips via the client's serialisation", async () => {
    const redis = client();
    const value = { id: 7, name: "Zoë", tags: ["a", "b"], nested: { ok: true, n: null } };
    await redis.set(key("json"), value);
    expect(await redis.get(key("json"))).toEqual(value);
    // Stored as its JSON text:
    const raw = directRedis(endpoint().redisUrl);
    try {
      expect(JSON.parse(String(await raw.get(key("json"))))).toEqual(value);
    } finally {
      raw.close();
    }
  });

  test("automaticDeserialization: false returns strings as stored", async () => {
    const redis = client({ automaticDeserialization: false });
    await redis.set(key("num"), "123");
    await redis.set(key("obj"), '{"a":1}');
    expect(await redis.get(key("num"))).toBe("123");
    expect(await redis.get(key("obj"))).toBe('{"a":1}');
  });

  test("a pipeline with a failing command in the middle: the others still run", async () => {
    const redis = client();
    await redis.set(key("p"), "1");
    const results = await redis
      .pipeline()
      .incr(key("p"))
      .hget(key("p"), "field")
      .incr(key("p"))
      .exec({ keepErrors: true });
    expect(results[0]).toEqual({ result: 2, error: undefined });
    expect(results[1]?.error).toStartWith("WRONGTYPE");
    expect(results[2]).toEqual({ result: 3, error: undefined });

    await expect(redis.pipeline().get(key("p")).hget(key("p"), "f").exec()).rejects.toThrow(
      "Command 2 [ hget ] failed: WRONGTYPE",
    );
  });

  test("multi(): results in order, on one connection inside MULTI … EXEC", async () => {
    const redis = client();
    expect(await redis.multi().set(key("tx"), "1").incr(key("tx")).get(key("tx")).exec()).toEqual([
      "OK",
      2,
      2,
    ]);
    // Ten concurrent transactions, each reading back its own writes at the end.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        redis
          .multi()
          .set(key(`tx-${i}`), i)
          .incrby(key(`tx-${i}`), 100)
          .get<number>(key(`tx-${i}`))
          .exec(),
      ),
    );
    results.forEach((result, i) => {
      expect(result).toEqual(["OK", 100 + i, 100 + i]);
    });
  });

  test("multi() is all or nothing: a command refused while queuing discards every one", async () => {
    const redis = client();
    // hset with no field/value pairs is a wrong-arity error, which Redis reports at queue time.
    await expect(
      redis
        .multi()
        .set(key("all-or-nothing"), "1")
        .hset(key("h2"), {})
        .incr(key("all-or-nothing"))
        .exec(),
    ).rejects.toThrow(/^EXECABORT .*ERR wrong number of arguments for 'hset' command/);
    expect(await redis.get(key("all-or-nothing"))).toBeNull();
    // The same commands as a (non-atomic) pipeline: the valid ones run.
    const piped = await redis
      .pipeline()
      .set(key("all-or-nothing"), "1")
      .hset(key("h2"), {})
      .incr(key("all-or-nothing"))
      .exec({ keepErrors: true });
    expect(piped.map((entry) => entry.error === undefined)).toEqual([true, false, true]);
    expect(await redis.get<number>(key("all-or-nothing"))).toBe(2);
  });

  test("multi() with a command failing at run time: thrown, the others applied", async () => {
    const redis = client();
    await redis.set(key("tx2"), "text");
    await expect(
      redis.multi().set(key("tx2-other"), "x").hget(key("tx2"), "f").exec(),
    ).rejects.toThrow("Command 2 [ hget ] failed: WRONGTYPE");
    expect(await redis.get<string>(key("tx2-other"))).toBe("x");
  });

  test("eval and evalsha", async () => {
    const redis = client();
    expect(await redis.eval("return ARGV[1]", [], ["hi"])).toBe("hi");
    expect(
      await redis.eval("return {KEYS[1], tonumber(ARGV[1]) + 1, 'OK'}", [key("k")], [41]),
    ).toEqual([key("k"), 42, "OK"]);
    const script = `return redis.call('SET', KEYS[1], ARGV[1]) -- ${prefix}`;
    const sha = await redis.scriptLoad(script);
    expect(sha).toBe(sha1Hex(script));
    expect(await redis.evalsha(sha, [key("via-sha")], ["v"])).toBe("OK");
    expect(await redis.get<string>(key("via-sha"))).toBe("v");
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow("NOSCRIPT");
  });

  test("a #!lua flags=allow-key-locking script: EVALSHA → NOSCRIPT → EVAL, then EVALSHA with the original SHA1 hits", async () => {
    const redis = client();
    const source = `#!lua flags=allow-key-locking\n-- ${prefix}\nreturn redis.call('INCR', KEYS[1])`;
    const originalSha = sha1Hex(source);
    const rewrittenSha = sha1Hex(`#!lua\n-- ${prefix}\nreturn redis.call('INCR', KEYS[1])`);
    const raw = directRedis(endpoint().redisUrl);
    try {
      expect(await raw.send("SCRIPT", ["EXISTS", rewrittenSha])).toEqual([0]);
      // First EVALSHA: unknown to Redis, so NOSCRIPT, and the client falls back to EVAL.
      await expect(redis.evalsha(originalSha, [key("counter")], [])).rejects.toThrow("NOSCRIPT");
      const script = redis.createScript<number>(source);
      expect(await script.exec([key("counter")], [])).toBe(1);
      expect(await raw.send("SCRIPT", ["EXISTS", rewrittenSha])).toEqual([1]);
      // Now EVALSHA with the SHA1 the client computed works directly.
      expect(await redis.evalsha(originalSha, [key("counter")], [])).toBe(2);
      expect(await redis.scriptExists(originalSha)).toEqual([1]);
      expect(await script.exec([key("counter")], [])).toBe(3);
    } finally {
      raw.close();
    }
  });

  test("Redis errors become the client's thrown errors, with Redis's message", async () => {
    const redis = client();
    await redis.set(key("str"), "not a number");
    await expect(redis.incr(key("str"))).rejects.toThrow(
      "ERR value is not an integer or out of range",
    );
    // hgetall is not auto-pipelined: POST / answered 400 {"error": …}
    await expect(redis.hgetall(key("str"))).rejects.toThrow(
      /^WRONGTYPE Operation against a key holding the wrong kind of value, command was: /,
    );
  });

  test("200 concurrent INCRs (200 HTTP requests) end at exactly 200", async () => {
    const redis = client({ enableAutoPipelining: false });
    const results = await Promise.all(
      Array.from({ length: 200 }, () => redis.incr(key("concurrent"))),
    );
    expect(await redis.get<number>(key("concurrent"))).toBe(200);
    expect(new Set(results).size).toBe(200);
    expect(Math.max(...results)).toBe(200);
  });
});
