import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import { expectProblem } from "../support/app.ts";
import { TEST_ENV, testDatabase } from "../support/database.ts";
import { poll } from "../support/poll.ts";
import {
  freePort,
  PROJECT_ROOT,
  type ServerProcess,
  startServer,
  waitUntilReady,
} from "../support/process.ts";
import { deleteKeys, keyPrefix, startRedisRest } from "../support/redis.ts";
import { type HttpReply, httpCall, httpExpect } from "../support/resilience.ts";

/**
 * Revocations cross process boundaries, as a user meets them: two defects a black-box probe
 * found in an earlier version (revocations lived in the server's memory), replayed against
 * real `bun src/main.ts` and `bun src/cli.ts` processes, with and without Redis.
 *
 * 1. `bun run cli grant-role <banker> depositor`, run by an operator next to a running server,
 *    takes effect there at once: the demoted banker's old access token gets 401 token_expired
 *    (deposits, withdrawals, /users/me), no money moves, and the renewed token (now a
 *    depositor's) gets 403 forbidden. Without Redis this runs on the embedded default (no
 *    DATABASE_URL), the CLI attaching to the server's embedded cluster, as the probe did.
 * 2. A SIGKILL and a restart forget nothing: access tokens of a logged-out session and of a
 *    session blocked for refresh-token reuse stay refused (401) by the new process, while an
 *    untouched session's token is still accepted.
 */

const rest = startRedisRest();
const prefix = keyPrefix("revocation-processes");

/** Every process this file starts, until it has exited: afterAll kills what is left. */
const children = new Set<Subprocess>();

afterAll(async () => {
  await Promise.all([...children].map((child) => kill(child)));
  if (!rest) return;
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

const isRunning = (child: Subprocess) => child.exitCode === null && child.signalCode === null;

/** Waits for `child` to exit; null if it has not within `timeoutMs`. */
async function exitWithin(child: Subprocess, timeoutMs: number): Promise<number | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    child.exited,
    new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  return outcome;
}

/**
 * SIGTERM first (so an embedded cluster is stopped by its server), SIGKILL if the process is
 * still there after `graceMs`. The exit code; null when it had to be killed.
 */
async function kill(child: Subprocess, graceMs = 20_000): Promise<number | null> {
  if (isRunning(child)) child.kill("SIGTERM");
  const code = await exitWithin(child, graceMs);
  if (code === null && isRunning(child)) {
    child.kill("SIGKILL");
    await child.exited;
  }
  children.delete(child);
  return code;
}

interface Bank {
  server: ServerProcess;
  baseUrl: string;
}

/** `bun src/main.ts` on a free port of its own with `env` (no job worker), once ready. */
async function startBank(env: Record<string, string>): Promise<Bank> {
  const port = await freePort();
  const server = startServer({ ...env, WORKER_ENABLED: "false", PORT: String(port) });
  children.add(server.process);
  await waitUntilReady(server, 60_000);
  return { server, baseUrl: `http://127.0.0.1:${port}` };
}

/** `bun run cli <args>` as an operator runs it, with `env`; killed if it hangs. */
async function cli(env: Record<string, string>, args: string[]) {
  const child = Bun.spawn(["bun", "src/cli.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  children.add(child);
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const [code, stdout, stderr] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
    children.delete(child);
  }
}

/**
 * `bun run cli grant-role <username> <role>`; throws with its output unless it succeeded.
 * What it printed (its log included).
 */
async function grantRoleWithCli(
  env: Record<string, string>,
  username: string,
  role: string,
): Promise<string> {
  const result = await cli(env, ["grant-role", username, role]);
  if (result.code !== 0 || !result.stdout.includes(`${username} is now a ${role}`)) {
    throw new Error(
      `grant-role ${username} ${role} exited ${result.code}:\n${result.stdout}${result.stderr}`,
    );
  }
  return result.stdout + result.stderr;
}

interface User {
  username: string;
  password: string;
}

interface LoginJson {
  session_id: string;
  access_token: string;
  refresh_token: string;
}

async function signUp(bank: Bank): Promise<User> {
  const username = `p_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const password = `pw-${crypto.randomUUID()}`;
  await httpExpect(201, bank.baseUrl, "POST", "/users", {
    body: { username, password, full_name: "Probe User", email: `${username}@example.com` },
  });
  return { username, password };
}

async function logIn(bank: Bank, user: User): Promise<LoginJson> {
  return (await httpExpect(200, bank.baseUrl, "POST", "/users/login", {
    body: { username: user.username, password: user.password },
  })) as unknown as LoginJson;
}

const me = (bank: Bank, token: string) => httpCall(bank.baseUrl, "GET", "/users/me", { token });

const renew = (bank: Bank, refreshToken: string) =>
  httpCall(bank.baseUrl, "POST", "/tokens/renew_access", {
    body: { refresh_token: refreshToken },
  });

const moveCash = (
  bank: Bank,
  kind: "deposits" | "withdrawals",
  token: string,
  accountId: number,
  amount: number,
): Promise<HttpReply> =>
  httpCall(bank.baseUrl, "POST", `/accounts/${accountId}/${kind}`, {
    token,
    body: { amount, currency: "USD" },
  });

async function balanceOf(bank: Bank, token: string, accountId: number): Promise<number> {
  const account = await httpExpect(200, bank.baseUrl, "GET", `/accounts/${accountId}`, { token });
  return Number(account.balance);
}

async function entryCount(bank: Bank, token: string, accountId: number): Promise<number> {
  const route = `/accounts/${accountId}/entries`;
  const entries = await httpExpect(200, bank.baseUrl, "GET", route, { token });
  return (entries as unknown as unknown[]).length;
}

/**
 * Defect 1: a banker made by the CLI deposits; the CLI demotes them while the server runs; the
 * old token must no longer move money, and the renewed one must not either. What the two CLI
 * runs printed.
 */
async function demotionByCliReachesTheServer(
  bank: Bank,
  env: Record<string, string>,
): Promise<string> {
  const banker = await signUp(bank);
  const customer = await signUp(bank);
  const promoted = await grantRoleWithCli(env, banker.username, "banker");

  const bankerSession = await logIn(bank, banker);
  const customerToken = (await logIn(bank, customer)).access_token;
  const account = await httpExpect(201, bank.baseUrl, "POST", "/accounts", {
    token: customerToken,
    body: { currency: "USD" },
  });
  const accountId = Number(account.id);
  const deposited = await moveCash(bank, "deposits", bankerSession.access_token, accountId, 10_000);
  expect(deposited.status).toBe(201);
  expect(await balanceOf(bank, customerToken, accountId)).toBe(10_000);

  const demoted = await grantRoleWithCli(env, banker.username, "depositor");

  const old = bankerSession.access_token;
  expectProblem(await moveCash(bank, "deposits", old, accountId, 5_000), 401, "token_expired");
  expectProblem(await moveCash(bank, "withdrawals", old, accountId, 5_000), 401, "token_expired");
  expectProblem(await me(bank, old), 401, "token_expired");
  expect(await balanceOf(bank, customerToken, accountId)).toBe(10_000);
  expect(await entryCount(bank, customerToken, accountId)).toBe(1);

  const renewed = await renew(bank, bankerSession.refresh_token);
  expect(renewed.status).toBe(200);
  const token = (renewed.body as LoginJson).access_token;
  const profile = await me(bank, token);
  expect(profile.status).toBe(200);
  expect((profile.body as { role: string }).role).toBe("depositor");
  expectProblem(await moveCash(bank, "deposits", token, accountId, 5_000), 403, "forbidden");
  expectProblem(await moveCash(bank, "withdrawals", token, accountId, 5_000), 403, "forbidden");
  expect(await balanceOf(bank, customerToken, accountId)).toBe(10_000);
  expect(await entryCount(bank, customerToken, accountId)).toBe(1);
  return promoted + demoted;
}

/**
 * Defect 2: sessions A (logged out), B (blocked for refresh-token reuse) and C (untouched) of
 * one user; the server is SIGKILLed and a new process starts on the same stores.
 */
async function revocationsSurviveAKill(env: Record<string, string>) {
  const first = await startBank(env);
  const user = await signUp(first);
  const a = await logIn(first, user);
  const b = await logIn(first, user);
  const c = await logIn(first, user);

  const logout = await httpCall(first.baseUrl, "POST", "/users/logout", { token: a.access_token });
  expect(logout.status).toBe(204);
  const rotated = await renew(first, b.refresh_token);
  expect(rotated.status).toBe(200);
  const again = await renew(first, (rotated.body as LoginJson).refresh_token);
  expect(again.status).toBe(200);
  const bRenewed = again.body as LoginJson;
  // Older than the previous token (which the reuse interval would accept): reuse, blocked.
  expectProblem(await renew(first, b.refresh_token), 401, "unauthenticated");

  const expectOnlyCAccepted = async (bank: Bank) => {
    expectProblem(await me(bank, a.access_token), 401, "unauthenticated");
    expectProblem(await me(bank, b.access_token), 401, "unauthenticated");
    expectProblem(await me(bank, bRenewed.access_token), 401, "unauthenticated");
    expect((await me(bank, c.access_token)).status).toBe(200);
  };
  await expectOnlyCAccepted(first);

  first.server.process.kill("SIGKILL");
  await first.server.process.exited;
  children.delete(first.server.process);

  const second = await startBank(env);
  let exitCode: number | null;
  try {
    await expectOnlyCAccepted(second);
    expectProblem(await renew(second, a.refresh_token), 401, "unauthenticated");
    expectProblem(await renew(second, bRenewed.refresh_token), 401, "unauthenticated");
    expect((await renew(second, c.refresh_token)).status).toBe(200);
  } finally {
    exitCode = await kill(second.server.process);
  }
  expect(exitCode).toBe(0);
}

describe("without Redis: revocations are read from the database", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "simplebank-revocation-"));
    await chmod(dir, 0o755); // the cluster runs as user `postgres` when we are root
  });
  afterAll(async () => {
    // A failed test may have left its server (SIGTERM stops the cluster) or an orphaned cluster.
    await Promise.all([...children].map((child) => kill(child)));
    await stopPostmaster(path.join(dir, "pg"));
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  test("on the embedded default, grant-role run by the CLI takes effect on the running server", async () => {
    const dataDir = path.join(dir, "pg");
    // No DATABASE_URL: the server starts the embedded PostgreSQL, the CLI attaches to it.
    const env = { ...TEST_ENV, EMBEDDED_POSTGRES_DIR: dataDir };
    const bank = await startBank(env);
    expect(bank.server.output()).toContain("EMBEDDED PostgreSQL");
    expect(bank.server.output()).toContain('"revocations":"database"');
    const postmaster = Number(await postmasterPid(dataDir));
    expect(alive(postmaster)).toBe(true);

    const printed = await demotionByCliReachesTheServer(bank, env);
    expect(printed).toContain("using the cluster another process is running");

    expect(await kill(bank.server.process)).toBe(0); // SIGTERM: the server stops its cluster
    expect(alive(postmaster)).toBe(false);
  }, 80_000);

  test("after a SIGKILL and a restart, revoked sessions stay revoked", async () => {
    const { url } = await testDatabase();
    await revocationsSurviveAKill({ ...TEST_ENV, DATABASE_URL: url });
  }, 60_000);
});

describe.skipIf(!rest)("with Redis: revocations are read from Redis", () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    if (!rest) throw new Error("REDIS_URL is unset");
    env = {
      ...TEST_ENV,
      DATABASE_URL: (await testDatabase()).url,
      UPSTASH_REDIS_REST_URL: rest.url,
      UPSTASH_REDIS_REST_TOKEN: rest.token,
      REDIS_KEY_PREFIX: prefix,
    };
  });

  test("grant-role run by the CLI takes effect on the running server", async () => {
    const bank = await startBank(env);
    let exitCode: number | null;
    try {
      expect(bank.server.output()).toContain('"revocations":"redis"');
      await demotionByCliReachesTheServer(bank, env);
    } finally {
      exitCode = await kill(bank.server.process);
    }
    expect(exitCode).toBe(0);
  }, 60_000);

  test("after a SIGKILL and a restart, revoked sessions stay revoked", async () => {
    await revocationsSurviveAKill(env);
  }, 60_000);
});

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => "");
  return Number(text.split("\n")[0]) || undefined;
}

/** Shuts down (immediate mode) a cluster still running in `dataDir`, if any. */
async function stopPostmaster(dataDir: string): Promise<void> {
  const pid = await postmasterPid(dataDir);
  if (!pid || !alive(pid)) return;
  process.kill(pid, "SIGQUIT");
  await poll("the orphaned postmaster to exit", () => !alive(pid), { timeoutMs: 15_000 });
}

/** Whether `pid` runs (a zombie, exited but not yet reaped, does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false; // gone meanwhile
  }
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}
