import { createServer } from "node:net";
import path from "node:path";
import type { Subprocess } from "bun";

export const PROJECT_ROOT = path.resolve(import.meta.dir, "../..");

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  process: Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
}

/**
 * Starts `bun src/main.ts` with exactly `env` (plus PATH and HOME). `env.PORT` is required: a
 * port the test picked (`freePort()`), so no test ever binds the default 8080, which another
 * run or a developer's server may hold (the default itself is tests/config.test.ts's).
 */
export function startServer(env: Record<string, string>): ServerProcess {
  const port = Number(env.PORT);
  if (!env.PORT || !Number.isInteger(port) || port <= 0) {
    throw new Error("startServer needs PORT: a port the test picked with freePort()");
  }
  return startProcess("src/main.ts", env, port);
}

/**
 * Starts `bun <entry> [args]` (src/main.ts, src/job-worker.ts, src/cli.ts migrate…) with exactly `env` (plus PATH and HOME,
 * and GRPC_PORT=0 unless `env` names one: a server's native gRPC then takes a free port of its
 * own instead of 9090, so servers started at once never collide).
 */
export function startProcess(
  entry: string,
  env: Record<string, string>,
  port = 0,
  args: readonly string[] = [],
): ServerProcess {
  let output = "";
  const child = Bun.spawn(["bun", entry, ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", GRPC_PORT: "0", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk);
  };
  void drain(child.stdout);
  void drain(child.stderr);
  return { process: child, port, output: () => output };
}

/** Polls GET /readyz until 200; throws with the server's output if it never gets there. */
export async function waitUntilReady(server: ServerProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.process.exitCode !== null) break;
    const ok = await fetch(`http://127.0.0.1:${server.port}/readyz`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    await Bun.sleep(100);
  }
  throw new Error(`server on port ${server.port} never became ready:\n${server.output()}`);
}

export async function stopServer(server: ServerProcess, signal: NodeJS.Signals = "SIGTERM") {
  server.process.kill(signal);
  return server.process.exited;
}
