import { RedisClient, type Server, type TCPSocketListener } from "bun";
import { silentLogger } from "../../src/core/lib/logger.ts";
import { createRedisRestHandler } from "../../tools/redis-rest/handler.ts";
import { RedisConnections } from "../../tools/redis-rest/redis-connections.ts";
import { describeRedisServer, parseRedisUrl } from "../../tools/redis-rest/redis-url.ts";

/**
 * Redis for tests. With REDIS_URL set (e.g. redis://127.0.0.1:6379), `startRedisRest()` serves
 * the Upstash-compatible REST endpoint in-process on a free port in front of that Redis; with
 * it unset it returns undefined and callers skip (`describe.skipIf(!rest)`). Tests never
 * flush: they use their own key prefix and delete those keys afterwards.
 */
export interface RedisRest {
  /** Base URL for `new Redis({ url, token })`. */
  url: string;
  token: string;
  /** The Redis behind it. */
  redisUrl: string;
  /** CLIENT SETNAME of the endpoint's connections, unique to this instance. */
  clientName: string;
  /** HTTP requests the endpoint received so far (a command, pipeline or transaction each). */
  requests(): number;
  /**
   * An outage of the endpoint: it stops serving, and until `resume()` its port accepts
   * connections and drops them at once (as a crashed proxy's would), counting them.
   */
  pause(): Promise<void>;
  /** Serves again on the same port. */
  resume(): Promise<void>;
  /** Connections dropped while paused (every attempt a client made to reach it). */
  droppedConnections(): number;
  stop(): Promise<void>;
}

let announced = false;

function announce(what: string): void {
  if (announced) return;
  announced = true;
  process.stderr.write(`[tests] Redis: ${what}\n`);
}

export function startRedisRest(options: { redisUrl?: string } = {}): RedisRest | undefined {
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL;
  if (!redisUrl) {
    announce("none (REDIS_URL unset): Redis tests skipped");
    return undefined;
  }
  const server = parseRedisUrl(redisUrl);
  if (!options.redisUrl) announce(`${describeRedisServer(server)} via the REST endpoint`);
  const id = `${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const clientName = `redis-rest-test-${id}`;
  const token = `test-token-${id}`;
  const redis = new RedisConnections({ server, logger: silentLogger, clientName });
  const handler = createRedisRestHandler({ redis, token, logger: silentLogger });
  let requests = 0;
  let dropped = 0;
  const serve = (port: number) =>
    Bun.serve({
      hostname: "127.0.0.1",
      port,
      fetch(request) {
        requests += 1;
        return handler(request);
      },
    });
  let http: Server<undefined> | undefined = serve(0);
  let outage: TCPSocketListener | undefined;
  const port = http.port ?? 0;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    redisUrl,
    clientName,
    requests: () => requests,
    droppedConnections: () => dropped,
    async pause() {
      await http?.stop(true);
      http = undefined;
      outage ??= Bun.listen({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(socket) {
            dropped += 1;
            socket.terminate();
          },
          data() {},
        },
      });
    },
    async resume() {
      outage?.stop(true);
      outage = undefined;
      http ??= serve(port);
    },
    async stop() {
      outage?.stop(true);
      await http?.stop(true);
      redis.close();
    },
  };
}

/** A unique key prefix for one test file, such as `test:upstash-client:1a2b3c4d:`. */
export function keyPrefix(name: string): string {
  return `test:${name}:${crypto.randomUUID().slice(0, 8)}:`;
}

/**
 * Bun's own RESP client, independent of the code under test: to look at Redis directly, kill
 * connections and clean up.
 */
export function directRedis(redisUrl: string): RedisClient {
  return new RedisClient(redisUrl, { autoReconnect: true, enableOfflineQueue: true });
}

/** Deletes every key starting with `prefix` (SCAN, never FLUSHDB). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const client = directRedis(redisUrl);
  try {
    let cursor = "0";
    do {
      const [next, keys] = (await client.send("SCAN", [
        cursor,
        "MATCH",
        `${prefix}*`,
        "COUNT",
        "1000",
      ])) as [string, string[]];
      cursor = next;
      if (keys.length > 0) await client.send("DEL", keys);
    } while (cursor !== "0");
  } finally {
    client.close();
  }
}

/** Closes, from another connection, every connection the endpoint has open to Redis. */
export async function killEndpointConnections(rest: RedisRest): Promise<number> {
  const client = directRedis(rest.redisUrl);
  try {
    const list = String(await client.send("CLIENT", ["LIST", "TYPE", "normal"]));
    const ids = list
      .split("\n")
      .filter((line) => line.includes(` name=${rest.clientName} `))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    for (const id of ids) await client.send("CLIENT", ["KILL", "TYPE", "normal", "ID", id]);
    return ids.length;
  } finally {
    client.close();
  }
}
