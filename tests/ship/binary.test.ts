import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmod, copyFile, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import { readMigrationFiles } from "drizzle-orm/migrator";
import postgres from "postgres";
import { consoleAssets } from "../../src/bun/console-assets.ts";
import { buildBinary, mib } from "../../tools/build/binary.ts";
import { BankClient, bufCurl, healthStatus } from "../grpc/support.ts";
import { TEST_ENV, testDatabase } from "../support/database.ts";
import { type EmailCapture, startEmailCapture } from "../support/email-capture.ts";
import { uniqueName } from "../support/fixtures.ts";
import { poll } from "../support/poll.ts";
import { freePort, PROJECT_ROOT, type ServerProcess, waitUntilReady } from "../support/process.ts";
import { deleteKeys, type RedisRest, startRedisRest } from "../support/redis.ts";
import { type HttpReply, httpCall, httpExpect, ledgerViolations } from "../support/resilience.ts";

/**
 * The one binary as it ships: `bun build --compile` (tools/build/binary.ts) built once here,
 * copied ALONE into a fresh empty folder, and run from there with only environment variables:
 * HOME and PATH point at an empty folder, so no Bun and no node_modules are within reach. Where
 * the machine allows it (root, `unshare --mount`), every run also gets a mount namespace in
 * which the checkout (sources, drizzle/, node_modules) is an empty tmpfs and the Bun executable
 * an empty file, so nothing the binary needs can come from them; the first line of the run says
 * which. The database is one of the binary's own on the test server (the run's shared database
 * holds other files' unsent jobs, which the binary's worker would work through first), migrated
 * by the binary's own `migrate`; Redis, when the run has one, through the
 * Upstash-compatible endpoint (then in production mode); emails go through the real resend SDK
 * to the capture server.
 */

const database = await testDatabase();
const DRIZZLE = path.join(PROJECT_ROOT, "drizzle");

let folder = "";
let binary = "";
/** HOME and PATH of every run: an empty folder. */
let home = "";
let hide: ((argv: string[]) => string[]) | undefined;
/** The database the serving binary uses: empty, migrated by `simplebank migrate`. */
let servedUrl = "";
let capture: EmailCapture;
let redis: RedisRest | undefined;
const redisPrefix = `test:binary:${crypto.randomUUID().slice(0, 8)}:`;

/**
 * The argv that runs `argv` with the checkout and the Bun executable hidden, or undefined when
 * this machine cannot (not root, no unshare): probed, so it is known to work.
 */
function hidingCheckoutAndBun(): ((argv: string[]) => string[]) | undefined {
  const [unshare, mount, sh] = [Bun.which("unshare"), Bun.which("mount"), Bun.which("sh")];
  if (!unshare || !mount || !sh || process.getuid?.() !== 0) return undefined;
  const wrap = (argv: string[]) => [
    unshare,
    "--mount",
    "--propagation",
    "private",
    sh,
    "-c",
    `${mount} -t tmpfs tmpfs "$1" && ${mount} --bind /dev/null "$2" && shift 2 && exec "$@"`,
    "hide",
    PROJECT_ROOT,
    process.execPath,
    ...argv,
  ];
  const probe = Bun.spawnSync(
    wrap([
      sh,
      "-c",
      'test ! -e "$1/package.json" && test ! -s "$2"',
      "probe",
      PROJECT_ROOT,
      process.execPath,
    ]),
    { stdout: "ignore", stderr: "ignore" },
  );
  return probe.exitCode === 0 ? wrap : undefined;
}

beforeAll(async () => {
  const buildDir = await mkdtemp(path.join(tmpdir(), "simplebank-binary-build-"));
  try {
    const built = await buildBinary(path.join(buildDir, "simplebank"));
    folder = await mkdtemp(path.join(tmpdir(), "simplebank-binary-"));
    binary = path.join(folder, "simplebank");
    await copyFile(built.path, binary);
    await chmod(binary, 0o755);
    home = await mkdtemp(path.join(tmpdir(), "simplebank-binary-home-"));
    hide = hidingCheckoutAndBun();
    process.stderr.write(
      `[binary] built in ${(built.buildMs / 1000).toFixed(1)} s, ${mib(built.bytes)}; runs from ${folder} ` +
        (hide
          ? `with the checkout (${PROJECT_ROOT}) and Bun (${process.execPath}) hidden (a mount namespace of its own)\n`
          : `WITHOUT hiding the checkout and Bun (that needs root and unshare --mount): only HOME and PATH keep them out of reach\n`),
    );
  } finally {
    await rm(buildDir, { recursive: true, force: true });
  }
  capture = startEmailCapture();
  redis = startRedisRest();
  servedUrl = await database.scratchDatabase();
  const migrated = await runBinary(["migrate"], { ...TEST_ENV, DATABASE_URL: servedUrl });
  if (migrated.code !== 0) throw new Error(`simplebank migrate failed:\n${migrated.stderr}`);
}, 180_000);

afterAll(async () => {
  await capture?.stop();
  if (redis) {
    await deleteKeys(redis.redisUrl, redisPrefix).catch(() => {});
    await redis.stop();
  }
  for (const dir of [folder, home]) if (dir) await rm(dir, { recursive: true, force: true });
});

/** Spawns the binary with exactly `env` (plus HOME and PATH, both the empty folder). */
function spawnBinary(
  args: string[],
  env: Record<string, string>,
): Subprocess<"ignore", "pipe", "pipe"> {
  const argv = [binary, ...args];
  return Bun.spawn(hide ? hide(argv) : argv, {
    cwd: folder,
    env: { HOME: home, PATH: home, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

/** The binary serving (or the worker): its output collected as it comes. */
function startBinary(args: string[], env: Record<string, string>, port = 0): ServerProcess {
  const child = spawnBinary(args, env);
  let output = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output += decoder.decode(chunk);
  };
  void drain(child.stdout);
  void drain(child.stderr);
  return { process: child, port, output: () => output };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs one command of the binary to its end; fails if it takes longer than `timeoutMs`. */
async function runBinary(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<Run> {
  const started = performance.now();
  const child = spawnBinary(args, env);
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    const [code, stdout, stderr] = await Promise.all([
      child.exited,
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    const ms = performance.now() - started;
    if (ms >= timeoutMs) throw new Error(`simplebank ${args.join(" ")} ran over ${timeoutMs} ms`);
    return { code, stdout, stderr, ms };
  } finally {
    clearTimeout(timer);
  }
}

/** The exit code; kills the process and fails if it does not exit within `timeoutMs`. */
async function exitCode(server: ServerProcess, timeoutMs = 40_000): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    server.process.exited,
    new Promise<"stuck">((resolve) => {
      timer = setTimeout(() => resolve("stuck"), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === "stuck") {
    server.process.kill("SIGKILL");
    throw new Error(`the binary did not exit after the signal:\n${server.output()}`);
  }
  return outcome;
}

/** What a deployment sets: production with the run's Redis, the test mode without. */
function deploymentEnv(port: number, grpcPort = 0): Record<string, string> {
  return {
    ...TEST_ENV,
    DATABASE_URL: servedUrl,
    PORT: String(port),
    GRPC_PORT: String(grpcPort),
    APP_BASE_URL: `http://127.0.0.1:${port}`,
    RESEND_API_KEY: "re_binary_test_0123456789",
    RESEND_BASE_URL: capture.baseUrl,
    EMAIL_FROM: "Simple Bank <bank@example.com>",
    SHUTDOWN_TIMEOUT: "10s",
    ...(redis
      ? {
          NODE_ENV: "production",
          UPSTASH_REDIS_REST_URL: redis.url,
          UPSTASH_REDIS_REST_TOKEN: redis.token,
          REDIS_KEY_PREFIX: redisPrefix,
        }
      : {}),
  };
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

interface Customer {
  username: string;
  password: string;
  email: string;
  token: string;
}

async function signUp(base: string, prefix: string): Promise<Omit<Customer, "token">> {
  const username = uniqueName(prefix);
  const customer = {
    username,
    password: `pw-${crypto.randomUUID()}`,
    email: `${username}@example.com`,
  };
  await httpExpect(201, base, "POST", "/users", {
    body: { ...customer, full_name: `Binary ${prefix.replace(/[^a-z]/gi, " ")}` },
  });
  return customer;
}

async function logIn(base: string, customer: Omit<Customer, "token">) {
  const login = await httpExpect(200, base, "POST", "/users/login", {
    body: { username: customer.username, password: customer.password },
  });
  return {
    ...customer,
    token: String(login.access_token),
    user: login.user as Record<string, unknown>,
  };
}

async function openAccount(base: string, customer: Customer): Promise<number> {
  const account = await httpExpect(201, base, "POST", "/accounts", {
    token: customer.token,
    body: { currency: "USD" },
  });
  return Number(account.id);
}

const verificationEmailTo = (email: string) =>
  capture.waitFor((sent) => sent.body.to?.includes(email) ?? false, 30_000);

describe("dist/simplebank, alone in an empty folder", () => {
  test("--help lists every command; an unknown one exits 2 with the usage; without DATABASE_URL it says there is no embedded PostgreSQL and exits 1", async () => {
    expect(await readdir(folder)).toEqual(["simplebank"]);
    const help = await runBinary(["--help"], {});
    expect(help.code).toBe(0);
    for (const command of [
      "serve",
      "worker",
      "migrate",
      "prune-idempotency-keys",
      "grant-role <user> <role>",
      "healthcheck",
    ]) {
      expect(help.stdout).toContain(`  ${command} `);
    }

    const unknown = await runBinary(["make-me-rich"], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command: make-me-rich");
    expect(unknown.stderr).toContain("usage: simplebank [command]");
    const arity = await runBinary(["grant-role", "somebody"], {});
    expect(arity.code).toBe(2);
    expect(arity.stderr).toContain("grant-role takes <user> <role>");

    const port = await freePort();
    for (const args of [[], ["worker"], ["migrate"]]) {
      const run = await runBinary(args, { ...TEST_ENV, PORT: String(port) });
      expect({ args, code: run.code }).toEqual({ args, code: 1 });
      expect(run.stderr).toContain(
        "DATABASE_URL is not set, and this binary has no embedded PostgreSQL",
      );
    }
    expect(await acceptsConnections(port)).toBe(false);
  }, 60_000);

  test("PostgreSQL unreachable or the database missing: serve, worker and migrate retry a bounded time, then exit 1 with one line saying what to do", async () => {
    const closed = await freePort();
    const missing = new URL(servedUrl);
    missing.pathname = "/no_such_bank_db";
    const commands = [[], ["worker"], ["migrate"]];
    const [unreachable, absent] = await Promise.all([
      Promise.all(
        commands.map((args) =>
          runBinary(args, {
            ...TEST_ENV,
            PORT: String(closed),
            DATABASE_URL: `postgres://bank:pw-not-shown@127.0.0.1:${closed}/bank`,
          }),
        ),
      ),
      Promise.all(
        commands.map((args) =>
          runBinary(args, { ...TEST_ENV, PORT: String(closed), DATABASE_URL: missing.toString() }),
        ),
      ),
    ]);
    for (const [i, run] of unreachable.entries()) {
      const output = run.stdout + run.stderr;
      expect({ args: commands[i], code: run.code }).toEqual({ args: commands[i], code: 1 });
      expect(output).toContain(
        `PostgreSQL is not reachable at 127.0.0.1:${closed} (ECONNREFUSED; 5 attempts in`,
      );
      expect(output).not.toContain("pw-not-shown");
      expect(output).not.toMatch(/^\s+at .+[:(]/m);
      expect(run.ms).toBeGreaterThan(7_000);
      expect(run.ms).toBeLessThan(30_000);
    }
    for (const [i, run] of absent.entries()) {
      const output = run.stdout + run.stderr;
      expect({ args: commands[i], code: run.code }).toEqual({ args: commands[i], code: 1 });
      expect(output).toContain('database "no_such_bank_db" does not exist on the PostgreSQL at');
      expect(run.ms).toBeLessThan(10_000);
    }
  }, 60_000);

  test("migrate on a fresh empty database applies every migration (as drizzle's folder migrator records them) and the job queue's schema; prune-idempotency-keys runs", async () => {
    const url = await database.scratchDatabase();
    const env = { ...TEST_ENV, DATABASE_URL: url };
    const migrated = await runBinary(["migrate"], env);
    expect({ code: migrated.code, stderr: migrated.stderr }).toEqual({ code: 0, stderr: "" });
    expect(migrated.stdout).toContain("database migrations applied");
    expect(migrated.stdout).toContain("job queue schema and queues ready");

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const expected = readMigrationFiles({ migrationsFolder: DRIZZLE }).map((m) => ({
        hash: m.hash,
        created_at: String(m.folderMillis),
      }));
      const journal = JSON.parse(
        await readFile(path.join(DRIZZLE, "meta", "_journal.json"), "utf8"),
      );
      expect(expected.length).toBe(journal.entries.length);
      const applied = async () => [
        ...(await sql<{ hash: string; created_at: string }[]>`
          select hash, created_at::text from drizzle.__drizzle_migrations order by id`),
      ];
      expect(await applied()).toEqual(expected);
      const [treasuries] = await sql<{ n: number }[]>`
        select count(*)::int as n from accounts where kind = 'treasury'`;
      expect(treasuries?.n).toBe(3);
      const queues = await sql<{ name: string }[]>`select name from pgboss.queue order by name`;
      expect(queues.map((q) => q.name)).toEqual(
        expect.arrayContaining(["send_verify_email", "send_verify_email_dead"]),
      );

      // Again: nothing to do.
      expect((await runBinary(["migrate"], env)).code).toBe(0);
      expect(await applied()).toEqual(expected);

      const pruned = await runBinary(["prune-idempotency-keys"], env);
      expect(pruned.code).toBe(0);
      expect(pruned.stdout).toContain("deleted 0 expired idempotency keys");
    } finally {
      await sql.end();
    }
  }, 60_000);

  test("serves the whole API: signup → the worker's email → its link → login → two accounts → a banker (grant-role) deposits → transfers; healthcheck 0; SIGTERM mid-burst drains and exits 0, the books balance; healthcheck 1 after", async () => {
    const [port, grpcPort] = [await freePort(), await freePort()];
    const env = deploymentEnv(port, grpcPort);
    const base = `http://127.0.0.1:${port}`;
    const server = startBinary([], env, port);
    const sql = postgres(servedUrl, { max: 3, onnotice: () => {} });
    try {
      await waitUntilReady(server, 30_000);
      expect(server.output()).toContain("database migrations applied");
      expect(server.output()).toContain("job worker running in this process");

      // The API reference and its assets, embedded in the binary, byte for byte.
      const document = await httpExpect(200, base, "GET", "/openapi.json");
      expect(String(document.openapi)).toMatch(/^3\.1\./);
      expect(await (await fetch(`${base}/docs`)).text()).toContain(
        "/docs/assets/swagger-ui-bundle.js",
      );
      for (const asset of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
        const served = await fetch(`${base}/docs/assets/${asset}`);
        expect({ asset, status: served.status }).toEqual({ asset, status: 200 });
        const shipped = await readFile(
          path.join(PROJECT_ROOT, "node_modules", "swagger-ui-dist", asset),
          "utf8",
        );
        expect((await served.text()) === shipped).toBe(true);
      }
      // The web console, embedded too (console/dist.json): its page and every built file.
      const consolePage = await fetch(`${base}/login`);
      expect(consolePage.status).toBe(200);
      expect(await consolePage.text()).toBe(consoleAssets["/index.html"]?.body ?? "missing");
      for (const [name, file] of Object.entries(consoleAssets)) {
        if (!name.startsWith("/assets/")) continue;
        const served = await fetch(`${base}${name}`);
        expect({ name, status: served.status }).toEqual({ name, status: 200 });
        expect((await served.text()) === file.body).toBe(true);
      }

      // Signup; the worker inside the binary sends the verification email; its link verifies.
      const alice = await signUp(base, "bin_alice");
      const email = await verificationEmailTo(alice.email);
      expect(email.status).toBe(200);
      expect(email.authorization).toBe(`Bearer ${env.RESEND_API_KEY}`);
      const link = /(https?:\/\/\S+\/verify_email\?\S+)/.exec(String(email.body.text))?.[1] ?? "";
      expect(link.startsWith(`${base}/verify_email?`)).toBe(true);
      const verified = await fetch(link);
      expect(verified.status).toBe(200);
      expect(await verified.json()).toEqual({ is_verified: true });

      const aliceIn = await logIn(base, alice);
      expect(aliceIn.user.is_email_verified).toBe(true);

      // Native gRPC on GRPC_PORT, its reflection answered from the descriptors in the binary.
      const grpcClient = new BankClient(`127.0.0.1:${grpcPort}`);
      try {
        expect(await healthStatus(grpcClient)).toBe("SERVING");
        const login = await grpcClient.call("LoginUser", {
          username: alice.username,
          password: alice.password,
        });
        expect(login.user.is_email_verified).toBe(true);
      } finally {
        grpcClient.close();
      }
      const services = await bufCurl([
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--list-services",
        `http://127.0.0.1:${grpcPort}`,
      ]);
      expect(services.stdout).toContain("pb.SimpleBank");
      const bob = await logIn(base, await signUp(base, "bin_bob"));
      const [a, b] = [await openAccount(base, aliceIn), await openAccount(base, bob)];

      // A banker, made by the binary's own grant-role, then logged in.
      const bankerSignedUp = await signUp(base, "bin_banker");
      const granted = await runBinary(["grant-role", bankerSignedUp.username, "banker"], env);
      expect({ code: granted.code, stderr: granted.stderr }).toEqual({ code: 0, stderr: "" });
      expect(granted.stdout).toContain(`${bankerSignedUp.username} is now a banker`);
      const banker = await logIn(base, bankerSignedUp);
      expect(banker.user.role).toBe("banker");
      for (const [account, amount] of [
        [a, 100_000],
        [b, 5_000],
      ] as const) {
        await httpExpect(201, base, "POST", `/accounts/${account}/deposits`, {
          token: banker.token,
          body: { amount, currency: "USD" },
        });
      }

      // A transfer; retried with its Idempotency-Key it is not paid twice.
      const key = crypto.randomUUID();
      const transfer = { from_account_id: a, to_account_id: b, amount: 2_500, currency: "USD" };
      const first = await httpExpect(201, base, "POST", "/transfers", {
        token: aliceIn.token,
        body: transfer,
        headers: { "Idempotency-Key": key },
      });
      const again = await httpCall(base, "POST", "/transfers", {
        token: aliceIn.token,
        body: transfer,
        headers: { "Idempotency-Key": key },
      });
      expect((again.body as typeof first).transfer).toEqual(first.transfer);
      const balance = async (account: number, token: string) =>
        Number((await httpExpect(200, base, "GET", `/accounts/${account}`, { token })).balance);
      expect(await balance(a, aliceIn.token)).toBe(97_500);
      expect(await balance(b, bob.token)).toBe(7_500);

      const healthy = await runBinary(["healthcheck"], env);
      expect({ code: healthy.code, stderr: healthy.stderr }).toEqual({ code: 0, stderr: "" });

      // The burst. Once a quarter is answered, a row lock on Alice's account (which every
      // transfer locks) holds the rest inside the binary, waiting in Postgres, when SIGTERM comes.
      const BURST = 160;
      const WAITING = 4;
      const owners = [aliceIn, bob];
      const plans = Array.from({ length: BURST }, (_, i) => {
        const fromAlice = i % 2 === 0;
        return {
          from: fromAlice ? a : b,
          to: fromAlice ? b : a,
          token: (fromAlice ? owners[0] : owners[1])?.token ?? "",
          // One in five more than either balance: 422 insufficient_funds.
          amount: i % 5 === 4 ? 500_000 : 1 + Math.floor(Math.random() * 200),
          key: i % 3 === 0 ? crypto.randomUUID() : undefined,
        };
      });
      let signalledAt = Number.POSITIVE_INFINITY;
      let settled = 0;
      type Outcome = { reply: HttpReply; at: number } | { error: unknown; at: number };
      const send = (plan: (typeof plans)[number]): Promise<Outcome> =>
        httpCall(base, "POST", "/transfers", {
          token: plan.token,
          body: {
            from_account_id: plan.from,
            to_account_id: plan.to,
            amount: plan.amount,
            currency: "USD",
          },
          headers: plan.key ? { "Idempotency-Key": plan.key } : {},
        })
          .then(
            (reply): Outcome => ({ reply, at: performance.now() }),
            (error: unknown): Outcome => ({ error, at: performance.now() }),
          )
          .finally(() => settled++);
      const outcomes = plans.map(send);
      await poll("a quarter of the burst answered", () => settled >= BURST / 4, { intervalMs: 5 });
      const lock = await sql.reserve();
      let released = false;
      try {
        await lock`begin`;
        await lock`select id from accounts where id = ${a} for update`;
        await poll(`${WAITING} of the binary's transfers waiting on the lock`, async () => {
          const [row] = await sql<{ n: number }[]>`
            select count(*)::int as n from pg_stat_activity
            where datname = current_database() and application_name = 'simplebank'
              and wait_event_type = 'Lock'`;
          return (row?.n ?? 0) >= WAITING;
        });
        signalledAt = performance.now();
        server.process.kill("SIGTERM");
        await poll("the shutdown began", () => server.output().includes("received SIGTERM"));
        await poll("the listener closed", async () => !(await acceptsConnections(port)));
        // Late comers, while the rest drains: refused at the door.
        outcomes.push(...plans.slice(0, 8).map((plan) => send({ ...plan, key: undefined })));
        await lock`rollback`;
        released = true;
      } finally {
        if (!released) await lock`rollback`.catch(() => {});
        lock.release();
      }
      expect(await exitCode(server)).toBe(0);

      const results = await Promise.all(outcomes);
      const unexpected: string[] = [];
      const accepted: number[] = [];
      let drained = 0;
      let refused = 0;
      for (const outcome of results) {
        if ("error" in outcome) {
          // Never reached the binary (the listener had closed): refused cleanly.
          if ((outcome.error as { code?: string }).code === "ECONNREFUSED") refused++;
          else unexpected.push(`request lost: ${String(outcome.error)}`);
          continue;
        }
        const { status, body } = outcome.reply;
        const code = (body as { code?: string }).code;
        if (status === 201) accepted.push((body as { transfer: { id: number } }).transfer.id);
        else if (status === 503) refused++;
        else if (!(status === 422 && code === "insufficient_funds")) {
          unexpected.push(`${status} ${JSON.stringify(body)}`);
        }
        if ((status === 201 || status === 422) && outcome.at > signalledAt) drained++;
      }
      const inFlight = Number(
        /waiting for requests in flight.*?"pending":(\d+)/.exec(server.output())?.[1] ?? "0",
      );
      process.stderr.write(
        `[binary] SIGTERM during ${BURST} transfers (8 more sent once the listener closed): ${inFlight} in flight, ${accepted.length} accepted, ${drained} answered after the signal, ${refused} refused\n`,
      );
      expect(unexpected).toEqual([]);
      expect(refused).toBeGreaterThanOrEqual(8);
      expect(inFlight).toBeGreaterThanOrEqual(WAITING);
      expect(drained).toBeGreaterThanOrEqual(WAITING);
      expect(server.output()).not.toContain("shutdown timeout");
      const steps = [
        "received SIGTERM, shutting down",
        "HTTP server stopped",
        "job worker stopped, job queue closed",
        "database pool closed",
      ].map((step) => server.output().indexOf(step));
      expect(steps.every((at) => at >= 0)).toBe(true);
      expect(steps).toEqual([...steps].sort((x, y) => x - y));
      // Native gRPC drains next to HTTP, before the pools close.
      const grpcStopped = server.output().indexOf("gRPC server stopped");
      expect(grpcStopped).toBeGreaterThan(steps[0] ?? Number.POSITIVE_INFINITY);
      expect(grpcStopped).toBeLessThan(steps[3] ?? -1);

      // Exactly the answered transfers are in the books (and the one before the burst), and they balance.
      const stored = await sql<{ id: number }[]>`
        select id::int as id from transfers
        where (from_account_id = ${a} and to_account_id = ${b}) or (from_account_id = ${b} and to_account_id = ${a})`;
      const ids = new Set(stored.map((row) => row.id));
      expect(accepted.filter((id) => !ids.has(id))).toEqual([]);
      expect(ids.size).toBe(accepted.length + 1);
      expect(await ledgerViolations(sql)).toEqual([]);

      const down = await runBinary(["healthcheck"], env);
      expect(down.code).toBe(1);
      expect(down.stderr).toContain(`healthcheck: http://127.0.0.1:${port}/readyz did not answer`);
      expect(down.ms).toBeLessThan(10_000);
    } finally {
      if (server.process.exitCode === null) server.process.kill("SIGKILL");
      await server.process.exited;
      await sql.end();
    }
  }, 120_000);

  test("worker runs the job worker alone, next to the binary serving with WORKER_ENABLED=false; both stop on SIGTERM", async () => {
    const port = await freePort();
    const env = { ...deploymentEnv(port), WORKER_ENABLED: "false" };
    const api = startBinary([], env, port);
    const worker = startBinary(["worker"], env);
    try {
      await waitUntilReady(api, 30_000);
      await poll(
        "the worker running",
        () => worker.output().includes("job worker running") || worker.process.exitCode !== null,
        { timeoutMs: 30_000 },
      );
      expect(worker.process.exitCode).toBeNull();
      expect(api.output()).not.toContain("job worker running");

      const carol = await signUp(`http://127.0.0.1:${port}`, "bin_carol");
      const email = await verificationEmailTo(carol.email);
      expect(email.status).toBe(200);
      await poll("the worker logged the job", () =>
        worker.output().includes('"job_type":"send_verify_email"'),
      );

      api.process.kill("SIGTERM");
      worker.process.kill("SIGTERM");
      expect(await exitCode(api)).toBe(0);
      expect(await exitCode(worker)).toBe(0);
      expect(worker.output()).toContain("job worker stopped, job queue closed");
      expect(api.output()).toContain("job queue closed");
    } finally {
      for (const child of [api, worker]) {
        if (child.process.exitCode === null) child.process.kill("SIGKILL");
        await child.process.exited;
      }
    }
  }, 90_000);
});
