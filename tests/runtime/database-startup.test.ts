import { afterAll, describe, expect, test } from "bun:test";
import { TEST_ENV, testDatabase } from "../support/database.ts";
import { freePort, type ServerProcess, startProcess } from "../support/process.ts";

/**
 * Issue 11 B.3: a missing database or a refused connection at start-up. The server (`bun run
 * start`), the job worker (`bun run worker`) and `bun run cli migrate` (the compiled binary runs
 * the same functions) retry a few times with backoff while PostgreSQL is unreachable, then
 * exit 1 with ONE line saying where they looked and what to do; a database that does not exist
 * fails at once. Real processes, against a port nobody listens on and a real server.
 */

const ENTRIES: [string, string[]][] = [
  ["the server (bun run start)", ["src/main.ts"]],
  ["the job worker (bun run worker)", ["src/job-worker.ts"]],
  ["bun run cli migrate", ["src/cli.ts", "migrate"]],
];

const children = new Set<ServerProcess>();
afterAll(() => {
  for (const child of children) child.process.kill("SIGKILL");
});

/** Runs `argv` with `env` until it exits (killed after `limitMs`); its exit code, output, time. */
async function run(argv: string[], env: Record<string, string>, limitMs: number) {
  const [entry = "", ...args] = argv;
  const started = Date.now();
  const child = startProcess(
    entry,
    { ...TEST_ENV, PORT: String(await freePort()), ...env },
    0,
    args,
  );
  children.add(child);
  const timer = setTimeout(() => child.process.kill("SIGKILL"), limitMs);
  const code = await child.process.exited;
  clearTimeout(timer);
  children.delete(child);
  await Bun.sleep(50); // the last output chunks
  return { code, output: child.output(), ms: Date.now() - started };
}

/** Lines that look like a stack trace ("    at fn (file:line)"). */
const STACK_LINE = /^\s+at .+[:(]/m;

describe("PostgreSQL unreachable at start-up (a free port left closed)", () => {
  test.each(ENTRIES)(
    "%s: retries with backoff, then exits 1 saying host:port and what to do, within seconds",
    async (_name, argv) => {
      const port = await freePort();
      const { code, output, ms } = await run(
        argv,
        { DATABASE_URL: `postgres://bank:s3cret-pw@127.0.0.1:${port}/bank` },
        40_000,
      );
      expect(code).toBe(1);
      expect(output).toContain(
        `PostgreSQL is not reachable at 127.0.0.1:${port} (ECONNREFUSED; 5 attempts in`,
      );
      expect(output).toContain("start PostgreSQL there, or set DATABASE_URL");
      // Four retries, announced, with doubling pauses: 0.5 + 1 + 2 + 4 s.
      for (let attempt = 1; attempt <= 4; attempt++) {
        expect(output).toContain(`attempt ${attempt} of 5`);
      }
      expect(ms).toBeGreaterThanOrEqual(7_000);
      expect(ms).toBeLessThan(30_000);
      expect(output).not.toMatch(STACK_LINE);
      expect(output).not.toContain("s3cret-pw");
    },
    45_000,
  );
});

describe("a database that does not exist", () => {
  test.each(ENTRIES)(
    "%s: exits 1 at once, naming the database, the server and how to fix it",
    async (_name, argv) => {
      const url = new URL((await testDatabase()).url);
      url.pathname = "/no_such_bank_db";
      const { code, output, ms } = await run(argv, { DATABASE_URL: url.toString() }, 20_000);
      expect(code).toBe(1);
      expect(output).toContain(
        `database "no_such_bank_db" does not exist on the PostgreSQL at ${url.hostname}:${url.port || "5432"}`,
      );
      expect(output).toContain("or set DATABASE_URL to an existing database");
      expect(output).not.toContain("attempt 1 of 5"); // not worth retrying
      expect(output).not.toMatch(STACK_LINE);
      expect(ms).toBeLessThan(10_000);
    },
    25_000,
  );
});
