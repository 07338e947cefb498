import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { uniqueName } from "../support/fixtures.ts";
import { poll } from "../support/poll.ts";
import {
  freePort,
  type ServerProcess,
  startProcess,
  stopServer,
  waitUntilReady,
} from "../support/process.ts";
import { httpExpect } from "../support/resilience.ts";

/**
 * `bun run edge` as a newcomer runs it, with NOTHING configured (only a free PORT, and the
 * embedded database's folder in a fresh temp folder so the run is its own): the embedded
 * PostgreSQL starts, the migrations apply, the bundle builds and workerd serves it; a signup's
 * verification email is written to the log (no RESEND_API_KEY: the log mailer) by the local Cron
 * Trigger within seconds; its link (http://localhost:<PORT>) verifies; login works. SIGTERM then
 * stops workerd and the database, exits 0, and leaves no postgres behind.
 */

/** Start-up builds the bundle and may initialise a cluster: generous on a busy 2-core machine. */
const READY_TIMEOUT_MS = 90_000;
/** The local Cron Trigger fires every 5 s. */
const EMAIL_TIMEOUT_MS = 15_000;

const folders: string[] = [];
let server: ServerProcess | undefined;
let postmasterPid: number | undefined;

afterAll(async () => {
  // Only when the test stopped early: it stops what it started itself.
  if (server && server.process.exitCode === null) {
    server.process.kill("SIGTERM");
    const exited = await Promise.race([server.process.exited, Bun.sleep(30_000)]);
    if (exited === undefined) server.process.kill("SIGKILL");
  }
  if (postmasterPid && isAlive(postmasterPid)) process.kill(postmasterPid, "SIGINT");
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
}, 60_000);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The postmaster's pid, from the first line of postmaster.pid in the data folder. */
async function postmasterOf(dataDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => "");
  const pid = Number(text.split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Processes still running that are, or were started by, that postmaster, or name the folder. */
function postgresProcessesOf(dataDir: string, pid: number): string[] {
  const ps = Bun.spawnSync(["ps", "-eo", "pid=,ppid=,args="]);
  return ps.stdout
    .toString()
    .split("\n")
    .filter((line) => {
      const [own, parent] = line.trim().split(/\s+/).map(Number);
      return own === pid || parent === pid || line.includes(dataDir);
    });
}

/** The verification link the log mailer wrote for `email`, once it has. */
function verificationLinkFor(output: string, email: string): string | undefined {
  const line = output.split("\n").find((l) => l.includes("email (not sent") && l.includes(email));
  return /http:\/\/localhost:[0-9]+\/verify_email\?email_id=[0-9]+&secret_code=[A-Za-z0-9_-]+/.exec(
    line ?? "",
  )?.[0];
}

describe("bun run edge with nothing configured", () => {
  test("embedded database, migrations, bundle, workerd; signup → email in the log → verify → login; SIGTERM stops it all", async () => {
    const folder = await mkdtemp(path.join(tmpdir(), "simplebank-edge-dev-"));
    folders.push(folder);
    const dataDir = path.join(folder, "postgres");
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    server = startProcess(
      "tools/edge/serve.ts",
      { PORT: String(port), EMBEDDED_POSTGRES_DIR: dataDir },
      port,
    );
    const running = server;

    await waitUntilReady(running, READY_TIMEOUT_MS);
    postmasterPid = await postmasterOf(dataDir);
    expect(postmasterPid).toBeDefined();
    const startup = running.output();
    expect(startup).toContain("EMBEDDED PostgreSQL");
    expect(startup).toContain("database migrations applied");
    expect(startup).toMatch(/Worker bundle: .* gzipped/);
    expect(startup).toContain(`serving the Worker in workerd on ${base}`);

    const username = uniqueName("newcomer");
    const email = `${username}@example.com`;
    const password = `pw-${crypto.randomUUID()}`;
    await httpExpect(201, base, "POST", "/users", {
      body: { username, password, full_name: "New Comer", email },
    });

    await poll(
      "the local Cron Trigger to log the verification email",
      () => verificationLinkFor(running.output(), email) !== undefined,
      { timeoutMs: EMAIL_TIMEOUT_MS, intervalMs: 200 },
    );
    const link = new URL(verificationLinkFor(running.output(), email) ?? "");
    expect(link.origin).toBe(`http://localhost:${port}`);
    // Followed as a person would: the link itself, at localhost.
    const verified = await fetch(link);
    expect(verified.status).toBe(200);
    expect(await verified.json()).toEqual({ is_verified: true });

    const login = await httpExpect(200, base, "POST", "/users/login", {
      body: { username, password },
    });
    expect(login.user).toMatchObject({ username, is_email_verified: true });

    expect(await stopServer(running)).toBe(0);
    const shutdown = running.output().slice(startup.length);
    expect(shutdown).toContain("received SIGTERM, shutting down");
    expect(shutdown).toContain("workerd stopped");
    expect(shutdown).toContain("database closed");
    expect(shutdown.indexOf("workerd stopped")).toBeLessThan(shutdown.indexOf("database closed"));

    // Nothing is left: not the postmaster or its children, not its pid file, not workerd's port.
    const pid = postmasterPid ?? -1;
    expect(isAlive(pid)).toBe(false);
    expect(postgresProcessesOf(dataDir, pid)).toEqual([]);
    expect(existsSync(path.join(dataDir, "postmaster.pid"))).toBe(false);
    const answered = await fetch(`${base}/healthz`).then(
      () => true,
      () => false,
    );
    expect(answered).toBe(false);

    await rm(folder, { recursive: true, force: true });
    expect(existsSync(folder)).toBe(false);
  }, 180_000);
});
