import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import { freePort } from "../support/process.ts";
import {
  deleteKeys,
  directRedis,
  keyPrefix,
  killEndpointConnections,
  type RedisRest,
  startRedisRest,
} from "../support/redis.ts";

/**
 * Concurrency and lost connections. Killing connections uses `CLIENT KILL TYPE normal ID …`
 * for the endpoint's own connections only (found by their CLIENT SETNAME): a bare
 * `CLIENT KILL TYPE normal` would also cut every other client of the machine's shared Redis.
 * The restart test runs a private redis-server on a free port, never the shared one.
 */

const rest = startRedisRest();
const prefix = keyPrefix("resilience");
const key = (name: string) => `${prefix}${name}`;

function endpoint(): RedisRest {
  if (!rest) throw new Error("REDIS_URL is unset");
  return rest;
}

async function send(
  target: RedisRest,
  args: unknown[],
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(target.url, {
    method: "POST",
    headers: { Authorization: `Bearer ${target.token}` },
    body: JSON.stringify(args),
  });
  return { status: response.status, body: await response.json() };
}

afterAll(async () => {
  if (!rest) return;
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

describe.skipIf(!rest)("concurrency", () => {
  test("200 concurrent INCR requests on one key end at exactly 200", async () => {
    const replies = await Promise.all(
      Array.from({ length: 200 }, () => send(endpoint(), ["INCR", key("counter")])),
    );
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    const values = replies.map((reply) => (reply.body as { result: number }).result);
    expect(new Set(values).size).toBe(200);
    expect((await send(endpoint(), ["GET", key("counter")])).body).toEqual({ result: "200" });
  });

  test("concurrent pipelines and transactions keep their replies apart", async () => {
    const batches = Array.from({ length: 40 }, (_, i) =>
      fetch(`${endpoint().url}/${i % 2 === 0 ? "pipeline" : "multi-exec"}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${endpoint().token}` },
        body: JSON.stringify([
          ["SET", key(`batch-${i}`), String(i)],
          ["INCRBY", key(`batch-${i}`), "1000"],
          ["GET", key(`batch-${i}`)],
        ]),
      }).then((response) => response.json()),
    );
    const results = await Promise.all(batches);
    results.forEach((result, i) => {
      expect(result).toEqual([
        { result: "OK" },
        { result: 1000 + i },
        { result: String(1000 + i) },
      ]);
    });
  });
});

describe.skipIf(!rest)("a killed connection", () => {
  test("CLIENT KILL of the endpoint's connections: the next request still works", async () => {
    expect((await send(endpoint(), ["SET", key("kill"), "before"])).status).toBe(200);
    // A transaction too, so an idle dedicated connection exists as well.
    await fetch(`${endpoint().url}/multi-exec`, {
      method: "POST",
      headers: { Authorization: `Bearer ${endpoint().token}` },
      body: JSON.stringify([["INCR", key("kill-tx")]]),
    });
    expect(await killEndpointConnections(endpoint())).toBeGreaterThanOrEqual(2);

    expect(await send(endpoint(), ["GET", key("kill")])).toEqual({
      status: 200,
      body: { result: "before" },
    });
    const tx = await fetch(`${endpoint().url}/multi-exec`, {
      method: "POST",
      headers: { Authorization: `Bearer ${endpoint().token}` },
      body: JSON.stringify([["INCR", key("kill-tx")]]),
    });
    expect(await tx.json()).toEqual([{ result: 2 }]);
  });

  test("killed again and again between bursts of concurrent requests", async () => {
    for (let round = 0; round < 5; round++) {
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => send(endpoint(), ["INCR", key("bursts")])),
      );
      expect(replies.every((reply) => reply.status === 200)).toBe(true);
      await killEndpointConnections(endpoint());
    }
    expect((await send(endpoint(), ["GET", key("bursts")])).body).toEqual({ result: "100" });
  });
});

/** A throwaway redis-server on a free port, for tests that stop it or need a password. */
class PrivateRedis {
  private process: Subprocess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly extraArgs: string[],
  ) {}

  static async start(extraArgs: string[] = []): Promise<PrivateRedis> {
    const dir = await mkdtemp(path.join(tmpdir(), "redis-rest-test-"));
    const server = new PrivateRedis(await freePort(), dir, extraArgs);
    await server.startProcess();
    return server;
  }

  async startProcess(): Promise<void> {
    this.process = Bun.spawn(
      [
        "redis-server",
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        this.dir,
        ...this.extraArgs,
      ],
      { stdout: "ignore", stderr: "ignore" },
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const connected = await Bun.connect({
        hostname: "127.0.0.1",
        port: this.port,
        socket: { data() {} },
      }).then(
        (socket) => {
          socket.end();
          return true;
        },
        () => false,
      );
      if (connected) return;
      await Bun.sleep(20);
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  async stopProcess(): Promise<void> {
    this.process?.kill("SIGTERM");
    await this.process?.exited;
    this.process = undefined;
  }

  async dispose(): Promise<void> {
    await this.stopProcess();
    await rm(this.dir, { recursive: true, force: true });
  }
}

const haveRedisServer = Bun.which("redis-server") !== null;

describe.skipIf(!rest || !haveRedisServer)("a private redis-server", () => {
  test("Redis restarts: 503 while it is down, then the endpoint reconnects by itself", async () => {
    const server = await PrivateRedis.start();
    const proxy = startRedisRest({ redisUrl: `redis://127.0.0.1:${server.port}` });
    if (!proxy) throw new Error("unreachable");
    try {
      expect((await send(proxy, ["SET", "k", "v1"])).body).toEqual({ result: "OK" });

      await server.stopProcess();
      const down = await send(proxy, ["GET", "k"]);
      expect(down.status).toBe(503);
      expect(down.body).toEqual({ error: expect.stringMatching(/^ERR Redis is unavailable: /) });

      await server.startProcess();
      // No persistence: the restarted server is empty, but reachable again.
      expect(await send(proxy, ["GET", "k"])).toEqual({ status: 200, body: { result: null } });
      expect((await send(proxy, ["SET", "k", "v2"])).body).toEqual({ result: "OK" });
      expect((await send(proxy, ["GET", "k"])).body).toEqual({ result: "v2" });
    } finally {
      await proxy.stop();
      await server.dispose();
    }
  }, 30_000);

  test("redis://:password@host:port/db authenticates and selects the database", async () => {
    const server = await PrivateRedis.start(["--requirepass", "s3cret"]);
    const proxy = startRedisRest({ redisUrl: `redis://:s3cret@127.0.0.1:${server.port}/2` });
    const wrong = startRedisRest({ redisUrl: `redis://:wrong@127.0.0.1:${server.port}/2` });
    if (!proxy || !wrong) throw new Error("unreachable");
    const direct = directRedis(`redis://:s3cret@127.0.0.1:${server.port}/2`);
    try {
      expect((await send(proxy, ["SET", "in-db-2", "yes"])).body).toEqual({ result: "OK" });
      expect(await direct.get("in-db-2")).toBe("yes");

      const refused = await send(wrong, ["PING"]);
      expect(refused.status).toBe(503);
      expect(refused.body).toEqual({ error: expect.stringMatching(/WRONGPASS/) });
    } finally {
      direct.close();
      await proxy.stop();
      await wrong.stop();
      await server.dispose();
    }
  }, 30_000);
});
