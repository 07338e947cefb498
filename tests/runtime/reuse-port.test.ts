import { describe, expect, test } from "bun:test";
import { testDatabase } from "../support/database.ts";
import {
  freePort,
  type ServerProcess,
  startServer,
  stopServer,
  waitUntilReady,
} from "../support/process.ts";

/**
 * HTTP_REUSE_PORT: several server processes on one port (SO_REUSEPORT), as an operator runs one
 * per core. Without it a second process cannot bind the port; with it both serve, the kernel
 * spreading new connections among them, and stopping one leaves the other serving.
 */

const TOKEN_KEY = "0123456789abcdef0123456789abcdef";

/** Waits (bounded) until `done()`; throws with the process's output if it never is. */
async function until(done: () => boolean, server: ServerProcess, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline || server.process.exitCode !== null) {
      throw new Error(`the second server never came up:\n${server.output()}`);
    }
    await Bun.sleep(50);
  }
}

/** The environment of a server on `port` with its own scratch database. */
async function serverEnv(port: string): Promise<Record<string, string>> {
  return {
    NODE_ENV: "development",
    DATABASE_URL: await (await testDatabase()).scratchDatabase(),
    TOKEN_SYMMETRIC_KEY: TOKEN_KEY,
    PORT: port,
  };
}

/** `times` requests to GET /healthz on `port`, each on a new connection: all 200. */
async function expectHealthy(port: string, times: number) {
  // A new connection per request: the kernel picks the process by the connection's ports.
  for (let i = 0; i < times; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { keepalive: false });
    expect(res.status).toBe(200);
  }
}

/** How many request lines for GET /healthz a process logged. */
const healthzLines = (output: string) =>
  output.split("\n").filter((line) => line.includes("/healthz") && line.includes("request")).length;

describe("HTTP_REUSE_PORT", () => {
  test("two processes share PORT and both answer; one stopped, the other still serves", async () => {
    const port = String(await freePort());
    const env = { ...(await serverEnv(port)), HTTP_REUSE_PORT: "true" };
    const first = startServer(env);
    await waitUntilReady(first);
    const second = startServer({ ...env, WORKER_ENABLED: "false" });
    try {
      // /readyz on the port answers from the first already: wait for the second's own word.
      await until(() => second.output().includes("serving on"), second);
      await expectHealthy(port, 40);
      expect(healthzLines(first.output())).toBeGreaterThan(0);
      expect(healthzLines(second.output())).toBeGreaterThan(0);

      expect(await stopServer(first)).toBe(0);
      await expectHealthy(port, 10);
    } finally {
      first.process.kill();
      second.process.kill();
      await Promise.all([first.process.exited, second.process.exited]);
    }
  }, 60_000);

  test("without it, a second process on the same port fails to start, saying why", async () => {
    const port = String(await freePort());
    const env = await serverEnv(port);
    const first = startServer(env);
    try {
      await waitUntilReady(first);
      const second = startServer({ ...env, WORKER_ENABLED: "false" });
      expect(await second.process.exited).not.toBe(0);
      expect(second.output()).toMatch(/EADDRINUSE|in use/i);
    } finally {
      first.process.kill();
      await first.process.exited;
    }
  }, 60_000);
});
