import { describe, expect, test } from "bun:test";
import { Redis } from "@upstash/redis";
import { freePort, PROJECT_ROOT } from "../support/process.ts";
import { deleteKeys, keyPrefix } from "../support/redis.ts";

/** `bun run redis:rest` as an operator runs it. */

function startEndpoint(env: Record<string, string>) {
  let output = "";
  const child = Bun.spawn(["bun", "run", "redis:rest"], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk);
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  return { child, output: () => output, drained };
}

async function exitWithin(child: Bun.Subprocess, ms: number): Promise<number | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  const outcome = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    child.kill("SIGKILL");
    await child.exited;
  }
  return outcome;
}

describe("bun run redis:rest with a bad configuration", () => {
  test("a bad REDIS_REST_PORT: exits 1 naming the variable, serves nothing", async () => {
    const endpoint = startEndpoint({ REDIS_REST_PORT: "not-a-port" });
    expect(await exitWithin(endpoint.child, 10_000)).toBe(1);
    await endpoint.drained;
    expect(endpoint.output()).toContain("Invalid configuration (1 variable)");
    expect(endpoint.output()).toContain("REDIS_REST_PORT");
    expect(endpoint.output()).not.toContain("serving");
  }, 20_000);

  test("production without REDIS_REST_TOKEN, with a bad REDIS_URL: both named", async () => {
    const endpoint = startEndpoint({ NODE_ENV: "production", REDIS_URL: "http://localhost" });
    expect(await exitWithin(endpoint.child, 10_000)).toBe(1);
    await endpoint.drained;
    expect(endpoint.output()).toContain("REDIS_REST_TOKEN");
    expect(endpoint.output()).toContain("REDIS_URL");
  }, 20_000);
});

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("bun run redis:rest against REDIS_URL", () => {
  test("serves the Upstash client, says which Redis it fronts, stops cleanly on SIGTERM", async () => {
    const port = await freePort();
    const token = `process-test-${crypto.randomUUID()}`;
    const prefix = keyPrefix("process");
    const endpoint = startEndpoint({
      REDIS_URL: redisUrl ?? "",
      REDIS_REST_PORT: String(port),
      REDIS_REST_TOKEN: token,
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 15_000;
      let ready = false;
      while (!ready && Date.now() < deadline && endpoint.child.exitCode === null) {
        ready = await fetch(url, { headers: { Authorization: `Bearer ${token}` } })
          .then((response) => response.ok)
          .catch(() => false);
        if (!ready) await Bun.sleep(50);
      }
      expect(ready).toBe(true);
      expect(endpoint.output()).toContain(`serving the Upstash-compatible REST API on ${url}`);
      expect(endpoint.output()).toContain("redis://");
      expect(endpoint.output()).not.toContain(token);

      const redis = new Redis({ url, token });
      expect(await redis.set(`${prefix}k`, { hello: "world" })).toBe("OK");
      expect(await redis.get(`${prefix}k`)).toEqual({ hello: "world" });
      await expect(new Redis({ url, token: "wrong", retry: false }).get("x")).rejects.toThrow(
        "Unauthorized",
      );

      endpoint.child.kill("SIGTERM");
      expect(await exitWithin(endpoint.child, 10_000)).toBe(0);
      await endpoint.drained;
      expect(endpoint.output()).toContain("received SIGTERM, shutting down");
    } finally {
      if (endpoint.child.exitCode === null) endpoint.child.kill("SIGKILL");
      await deleteKeys(redisUrl ?? "", prefix);
    }
  }, 30_000);
});
