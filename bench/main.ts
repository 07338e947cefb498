/**
 * `bun run bench`: the API's hot paths measured from outside, each next to the machine's own
 * limit for the same work, taken in the same run (never an assertion; see bench/NOTES.md):
 * - the API started as production runs it: dist/simplebank (built first when missing or older
 *   than src/), else `bun src/main.ts` (--source forces it), rate limits off, against
 *   BENCH_DATABASE_URL (default the machine's PostgreSQL; a throwaway database made and
 *   dropped here);
 * - seeded through the API: users, 1,000 USD accounts, a deposit into each (by a banker), an
 *   access token per user by logging in;
 * - then, each for --duration after a --warmup that is not counted, with wrk and
 *   bench/wrk/bench.lua: transfers (c=32), account reads (c=64), logins (c=8), statements
 *   (GET /accounts/{id}/entries, c=32), the transfer through Connect (c=32) and through the
 *   Worker in workerd (c=32), deposits (POST /accounts/{id}/deposits by the banker, c=32);
 *   and, right after the transfers, the transfer again paced to half their measured rate (wrk
 *   and bench/wrk/bench.lua's schedule): the latency at half the maximum rate;
 * - the baselines: pgbench -M prepared on the transfer's minimal SQL
 *   (bench/pgbench/transfer.sql) and on the read query (bench/pgbench/read.sql), the
 *   framework-free floor (bench/floor.ts: Bun.serve + postgres.js, the same query), raw bcrypt
 *   verifications per second (Bun.password) at the API's cost; pgbench on a deposit's minimal
 *   SQL (bench/pgbench/deposit.sql) with the one treasury row every deposit locks;
 * - the treasury hotspot (--only hotspot): that deposit SQL with the bank's side one row, then
 *   split over 8 and 16 "treasury shard" accounts, with synchronous_commit=off (the limit WAL
 *   flushes per commit set; a measurement, not a setting for money), and batches of 10
 *   deposits per transaction (bench/pgbench/deposit-batch.sql, the same statements with one
 *   commit; bench/pgbench/deposit-set.sql, one set-based statement);
 * - the CPU of the load generator, the server and PostgreSQL over each phase (% of one core,
 *   from /proc/<pid>/stat; PostgreSQL = the backends connected to the bench database), and the
 *   server's resident memory (its start and peak per phase, and a sample every 5 s, 10 s in
 *   phases of 2 minutes or more, from /proc/<pid>/statm).
 * A run is valid with zero errors (non-2xx, counted by the Lua script) and balanced books
 * (checked in SQL after the load). Writes bench/results/latest.md.
 * Options: --duration 30s, --warmup 5s, --only <path> (transfers, reads, logins, statements,
 * connect, worker, deposits, hotspot; repeatable), --bcrypt-cost N (default 10, the API's
 * default), --accounts N (default 1000), --smoke (5 s phases, 1 s warm-up, cost 4, 200
 * accounts, every path but the hotspot unless --only names it, the table printed but not
 * written: that it runs and the books balance; .ci/run runs it).
 */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { freePort } from "../tests/support/process.ts";
import { BINARY, buildBinary, PROJECT_ROOT } from "../tools/build/binary.ts";
import { buildBundle } from "../tools/edge/bundle.ts";
import { startConnectionGate } from "../tools/edge/connection-gate.ts";
import { startLocalWorker } from "../tools/edge/workerd.ts";

const PATHS = [
  "transfers",
  "reads",
  "logins",
  "statements",
  "connect",
  "worker",
  "deposits",
  "hotspot",
] as const;
type PathName = (typeof PATHS)[number];

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "30s" },
    warmup: { type: "string", default: "5s" },
    only: { type: "string", multiple: true },
    "bcrypt-cost": { type: "string" },
    accounts: { type: "string" },
    source: { type: "boolean", default: false },
    /** A folder: runs `bun src/main.ts` under Bun's CPU profiler, a Markdown profile on exit. */
    profile: { type: "string" },
    /** KEY=VALUE for the API's environment (repeatable): to measure one setting against another. */
    "api-env": { type: "string", multiple: true },
    /** Server processes sharing the port (HTTP_REUSE_PORT): one per core, say. */
    "api-processes": { type: "string", default: "1" },
    smoke: { type: "boolean", default: false },
  },
});

/** "30s", "2m", "500ms" or a number of seconds → seconds. */
function seconds(value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(value);
  if (!match) throw new Error(`not a duration: ${value} (such as 30s, 2m)`);
  const n = Number(match[1]);
  return match[2] === "ms" ? n / 1000 : match[2] === "m" ? n * 60 : n;
}

const DURATION = seconds(args.smoke && !process.argv.includes("--duration") ? "5s" : args.duration);
const WARMUP = seconds(args.smoke && !process.argv.includes("--warmup") ? "1s" : args.warmup);
const BCRYPT_COST = Number(args["bcrypt-cost"] ?? (args.smoke ? "4" : "10"));
const API_PROCESSES = Number(args["api-processes"]);
if (!Number.isInteger(API_PROCESSES) || API_PROCESSES < 1) {
  throw new Error(`--api-processes ${args["api-processes"]}: a whole number of 1 or more`);
}
const ACCOUNTS = Number(args.accounts ?? (args.smoke ? "200" : "1000"));
for (const name of args.only ?? []) {
  if (!PATHS.includes(name as PathName)) {
    throw new Error(`--only ${name}: not one of ${PATHS.join(", ")}`);
  }
}
/** Every path by default; the smoke leaves the hotspot's seven pgbench phases out unless asked. */
const selected = (name: PathName) =>
  args.only ? args.only.includes(name) : !(args.smoke && name === "hotspot");

/** Connections per path (the baselines take the same as the path they stand beside). */
const CONCURRENCY = { transfers: 32, reads: 64, logins: 8, statements: 32, deposits: 32 } as const;
/** The treasury split of the hotspot phases: N sub-accounts (the largest is seeded). */
const SHARDS = [8, 16] as const;
const SHARD_FUNDS = 10_000_000_000; // each shard's float, in cents: far more than any run pays out
/** The server's resident memory is sampled this often during a phase (the RSS series). */
const RSS_EVERY_S = DURATION >= 120 ? 10 : 5;
const PASSWORD = "bench password";
const CLOCK_TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux.
const PAGE_BYTES = 4096; // /proc/<pid>/statm counts pages.
const WRK_THREADS = Math.max(1, Math.min(2, navigator.hardwareConcurrency));

const ENV = {
  NODE_ENV: "test",
  BCRYPT_COST: String(BCRYPT_COST),
  TOKEN_SYMMETRIC_KEY: crypto.randomUUID().replaceAll("-", ""),
  RATE_LIMIT_ENABLED: "false",
  // The tokens minted while seeding must outlive the longest run.
  ACCESS_TOKEN_DURATION: "12h",
};

/** A phase's figures: one row of the table. */
interface Row {
  path: string;
  concurrency: number;
  perSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  errors: number;
  baseline?: string;
  baselinePerSecond?: number;
  cpu: string;
  /** The server's resident memory at the phase's start → the most it reached. */
  rss: string;
  /** The server's resident memory in MiB, sampled every RSS_EVERY_S from the phase's start. */
  rssSeries?: number[];
}

function commandExists(name: string): boolean {
  return Bun.which(name) !== null;
}

// ---- CPU accounting from /proc ----------------------------------------------------------------

/** utime + stime of a process, in clock ticks (0 when it is gone). */
async function cpuTicks(pid: number): Promise<number> {
  const text = await Bun.file(`/proc/${pid}/stat`)
    .text()
    .catch(() => "");
  // Fields after the command name (which may hold spaces) start at field 3, "state".
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
}

/** pid and every descendant of it. */
async function processTree(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const name of await readdir("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    const text = await Bun.file(`/proc/${name}/stat`)
      .text()
      .catch(() => "");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    parents.set(Number(name), Number(fields[1]));
  }
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, parent] of parents) if (parent === tree[i]) tree.push(pid);
  }
  return tree;
}

/** Resident memory of a process in bytes (0 when it is gone). */
async function rssBytes(pid: number): Promise<number> {
  const text = await Bun.file(`/proc/${pid}/statm`)
    .text()
    .catch(() => "");
  return Number(text.split(" ")[1] ?? 0) * PAGE_BYTES;
}

/**
 * The CPU that sets of processes use from now to `stop()`, as % of one core: polled every
 * 200 ms, so processes that start (PostgreSQL backends of a new client) or end within the
 * phase are counted too (a process seen first after the start counts from 0 ticks). The
 * "server" source's resident memory (summed over its processes) is kept too: at the start,
 * the most it reached, and a sample every RSS_EVERY_S (the series that tells a plateau from
 * growth over a long run).
 */
type PidSource = () => Promise<number[]>;
async function cpuMeter(sources: Record<string, PidSource>) {
  const seen = new Map<string, Map<number, { first: number; last: number }>>();
  const rss = { start: 0, max: 0, series: [] as number[], nextSample: 0 };
  const poll = async (initial: boolean) => {
    for (const [name, pids] of Object.entries(sources)) {
      const ticks = seen.get(name) ?? new Map<number, { first: number; last: number }>();
      seen.set(name, ticks);
      let resident = 0;
      for (const pid of await pids()) {
        const now = await cpuTicks(pid);
        const known = ticks.get(pid);
        if (known) known.last = Math.max(known.last, now);
        else ticks.set(pid, { first: initial ? now : 0, last: now });
        if (name === "server") resident += await rssBytes(pid);
      }
      if (name === "server") {
        if (initial) rss.start = resident;
        rss.max = Math.max(rss.max, resident);
        if (performance.now() >= rss.nextSample) {
          rss.series.push(resident);
          rss.nextSample = (rss.nextSample || performance.now()) + RSS_EVERY_S * 1000;
        }
      }
    }
  };
  await poll(true);
  const started = performance.now();
  let polling = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(() => poll(false));
  }, 200);
  return async (children: Record<string, number> = {}) => {
    clearInterval(timer);
    await polling;
    await poll(false);
    const wall = (performance.now() - started) / 1000;
    const share = (cpuSeconds: number) => `${((100 * cpuSeconds) / wall).toFixed(0)}%`;
    const shares = Object.entries(children).map(([name, cpu]) => `${name} ${share(cpu)}`);
    for (const [name, ticks] of seen) {
      let used = 0;
      for (const { first, last } of ticks.values()) used += last - first;
      shares.push(`${name} ${share(used / CLOCK_TICKS)}`);
    }
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
    return {
      cpu: shares.join(", "),
      rss: rss.max > 0 ? `${mib(rss.start)} → ${mib(rss.max)} MiB` : "",
      ...(rss.max > 0 ? { rssSeries: rss.series.map((bytes) => Math.round(bytes / 2 ** 20)) } : {}),
    };
  };
}

/** A child's CPU time in seconds, once it has exited. */
function childCpu(child: ReturnType<typeof Bun.spawn>): number {
  const usage = child.resourceUsage();
  return usage ? Number(usage.cpuTime.user + usage.cpuTime.system) / 1e6 : 0;
}

// ---- the run ----------------------------------------------------------------------------------

const missing = ["wrk", "pgbench"].filter((tool) => !commandExists(tool));
if (missing.length > 0) {
  console.error(
    `bench: ${missing.join(" and ")} not found (Debian: apt-get install -y wrk postgresql-client)`,
  );
  process.exit(2);
}

const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const dbName = `bench_${process.pid}`;
await admin.unsafe(`create database "${dbName}"`);
const dbUrl = new URL(adminUrl);
dbUrl.pathname = `/${dbName}`;
const databaseUrl = dbUrl.toString();
const folder = await mkdtemp(path.join(tmpdir(), "simplebank-bench-"));
const stops: (() => Promise<unknown> | unknown)[] = [];
let sql: postgres.Sql | undefined;

try {
  // The API as production runs it: one process, or --api-processes sharing the port
  // (HTTP_REUSE_PORT), the first with the job worker.
  const argv = await apiCommand();
  const port = await freePort();
  const apis: ReturnType<typeof Bun.spawn>[] = [];
  for (let i = 0; i < API_PROCESSES; i++) {
    const api = Bun.spawn(argv, {
      cwd: folder,
      env: {
        ...ENV,
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        GRPC_PORT: String(await freePort()),
        HOME: folder,
        PATH: process.env.PATH ?? "",
        ...(API_PROCESSES > 1 ? { HTTP_REUSE_PORT: "true" } : {}),
        ...(i > 0 ? { WORKER_ENABLED: "false" } : {}),
        ...apiEnvOverrides(),
      },
      stdin: "ignore",
      stdout: Bun.file(path.join(folder, `api-${i}.log`)),
      stderr: Bun.file(path.join(folder, `api-${i}.err`)),
    });
    apis.push(api);
    stops.push(async () => {
      api.kill("SIGTERM");
      await api.exited;
    });
    // One at a time: the first applies the migrations. Past the first, /readyz on the shared
    // port may answer from another process: each one's own log says when it serves.
    await waitReady(`http://127.0.0.1:${port}`, api);
    await waitLogged(path.join(folder, `api-${i}.log`), "serving on", api);
  }
  const base = `http://127.0.0.1:${port}`;
  const processes = API_PROCESSES > 1 ? ` (${API_PROCESSES} processes, HTTP_REUSE_PORT)` : "";
  console.log(
    `API: ${argv.map((a) => path.relative(PROJECT_ROOT, a) || a).join(" ")} on ${base}${processes}`,
  );

  sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  const db = sql;
  const seeded = await seed(base, db, selected("hotspot") ? Math.max(...SHARDS) : 0);
  const { users, banker } = seeded;
  const dataFile = path.join(folder, "users.txt");
  await Bun.write(
    dataFile,
    `${users.map((u) => `${u.username} ${u.account} ${u.token}`).join("\n")}\n`,
  );
  const { lo, hi } = idRange(users, "account");
  const shardIds = seeded.shards.length > 0 ? idRange(seeded.shards, "shard") : undefined;
  const [treasury] = await db<{ id: number }[]>`
    select id::int from accounts where kind = 'treasury' and currency = 'USD'`;
  if (!treasury) throw new Error("no USD treasury account: migrations not applied?");
  await checkBooks(db, "after seeding");

  const backends: PidSource = async () =>
    (
      await db<{ pid: number }[]>`
        select pid from pg_stat_activity where datname = ${dbName} and pid <> pg_backend_pid()`
    ).map((r) => r.pid);
  const apiTree: PidSource = async () =>
    (await Promise.all(apis.map((api) => processTree(api.pid)))).flat();

  const rows: Row[] = [];
  let pgbenchTransfers: Row | undefined;
  const transferBaseline = async () => {
    pgbenchTransfers ??= await pgbench(
      "pgbench: the transfer's SQL",
      "transfer.sql",
      CONCURRENCY.transfers,
    );
    return pgbenchTransfers;
  };
  const wrkRow = async (
    label: string,
    mode: string,
    url: string,
    concurrency: number,
    server: PidSource,
    /** Requests per second to hold (wrk paced by bench.lua); at most as fast as it can when absent. */
    rate?: number,
  ): Promise<Row> => {
    const env = { BENCH_DATA: dataFile, BENCH_PASSWORD: PASSWORD, BENCH_BANKER_TOKEN: banker };
    await wrk(url, mode, concurrency, WARMUP, env, rate);
    const meter = await cpuMeter({ server, postgres: backends });
    const { cpuSeconds, ...result } = await wrk(url, mode, concurrency, DURATION, env, rate);
    return { path: label, concurrency, ...result, ...(await meter({ wrk: cpuSeconds })) };
  };
  const pgbench = async (
    label: string,
    script: string,
    wanted: number,
    defines: Record<string, string | number> = {},
    env: Record<string, string> = {},
    /** Operations per pgbench transaction: the row counts operations per second. */
    perTransaction = 1,
  ): Promise<Row> => {
    // The machine's PostgreSQL is shared: never take the connections other clients need.
    const [room] = await db<{ free: number }[]>`
      select current_setting('max_connections')::int
        - current_setting('superuser_reserved_connections')::int
        - (select count(*) from pg_stat_activity)::int as free`;
    const concurrency = Math.max(1, Math.min(wanted, (room?.free ?? wanted) - 10));
    if (concurrency < wanted) {
      console.warn(
        `bench: WARNING: ${label} with ${concurrency} clients, not ${wanted}: the server has room for no more connections`,
      );
    }
    const all = { lo, hi, ...defines };
    await runPgbench(script, concurrency, WARMUP, all, env);
    const meter = await cpuMeter({ postgres: backends });
    const { cpuSeconds, ...result } = await runPgbench(script, concurrency, DURATION, all, env);
    result.perSecond *= perTransaction;
    return { path: label, concurrency, ...result, ...(await meter({ pgbench: cpuSeconds })) };
  };

  if (selected("transfers")) {
    const row = await wrkRow("POST /transfers", "transfer", base, CONCURRENCY.transfers, apiTree);
    await checkBooks(db, "after the transfers");
    // The latency target is at half the maximum rate: the same load, paced to half of the
    // throughput just measured (an open schedule per wrk thread; see bench/wrk/bench.lua).
    const halfRate = Math.max(1, Math.floor(row.perSecond / 2));
    const paced = await wrkRow(
      `POST /transfers, paced at half that rate (${halfRate}/s)`,
      "transfer",
      base,
      CONCURRENCY.transfers,
      apiTree,
      halfRate,
    );
    await checkBooks(db, "after the paced transfers");
    const baseline = await transferBaseline();
    await checkBooks(db, "after pgbench's transfers");
    rows.push(withBaseline(row, baseline), paced, baseline);
  }
  if (selected("reads")) {
    const row = await wrkRow("GET /accounts/{id}", "read", base, CONCURRENCY.reads, apiTree);
    const floor = await startFloor();
    stops.push(floor.stop);
    const floorRow = await wrkRow(
      "floor: Bun.serve + postgres.js, same query",
      "floor",
      floor.url,
      CONCURRENCY.reads,
      async () => [floor.pid],
    );
    await floor.stop();
    const pgRead = await pgbench("pgbench: the read query", "read.sql", CONCURRENCY.reads);
    rows.push(withBaseline(row, floorRow), withBaseline(floorRow, pgRead), pgRead);
  }
  if (selected("logins")) {
    const row = await wrkRow("POST /users/login", "login", base, CONCURRENCY.logins, apiTree);
    const raw = await bcryptRow(CONCURRENCY.logins);
    rows.push(withBaseline(row, raw), raw);
  }
  if (selected("statements")) {
    rows.push(
      await wrkRow("GET /accounts/{id}/entries", "entries", base, CONCURRENCY.statements, apiTree),
    );
  }
  if (selected("connect")) {
    const row = await wrkRow(
      "Connect CreateTransfer",
      "connect",
      base,
      CONCURRENCY.transfers,
      apiTree,
    );
    await checkBooks(db, "after the Connect transfers");
    rows.push(withBaseline(row, await transferBaseline()));
  }
  if (selected("worker")) {
    const gate = await startConnectionGate(databaseUrl, 40);
    stops.push(gate.stop);
    const bundle = await buildBundle();
    const worker = await startLocalWorker(bundle, {
      bindings: { ...ENV, DATABASE_URL: gate.url, LOG_LEVEL: "error" },
      port: await freePort(),
      captureOutput: true,
    });
    stops.push(worker.stop);
    const workerd: PidSource = async () => {
      const pids: number[] = [];
      for (const pid of await processTree(process.pid)) {
        const comm = await Bun.file(`/proc/${pid}/comm`)
          .text()
          .catch(() => "");
        if (comm.trim() === "workerd") pids.push(pid);
      }
      return pids;
    };
    const row = await wrkRow(
      "POST /transfers, Worker in workerd",
      "transfer",
      worker.url,
      CONCURRENCY.transfers,
      workerd,
    );
    await worker.stop();
    await gate.stop();
    await checkBooks(db, "after the Worker's transfers");
    rows.push(withBaseline(row, await transferBaseline()));
  }
  // The treasury hotspot: every deposit locks its currency's treasury row (and the banker's
  // user row FOR SHARE). The same deposit SQL with the bank's side one row, then split.
  const deposit = (
    label: string,
    bank: { lo: number; hi: number },
    env = {},
    { script = "deposit.sql", batch = 1 } = {},
  ) =>
    pgbench(
      `pgbench: a deposit's SQL, ${label}`,
      script,
      CONCURRENCY.deposits,
      { banker: "bench_banker", bank_lo: bank.lo, bank_hi: bank.hi },
      env,
      batch,
    );
  const oneTreasury = { lo: treasury.id, hi: treasury.id };
  let pgbenchDeposits: Row | undefined;
  const depositBaseline = async () => {
    if (!pgbenchDeposits) {
      pgbenchDeposits = await deposit("1 treasury row", oneTreasury);
      await checkBooks(db, "after pgbench's deposits");
    }
    return pgbenchDeposits;
  };
  if (selected("deposits")) {
    const row = await wrkRow(
      "POST /accounts/{id}/deposits",
      "deposit",
      base,
      CONCURRENCY.deposits,
      apiTree,
    );
    await checkBooks(db, "after the deposits");
    rows.push(withBaseline(row, await depositBaseline()));
  }
  if (selected("hotspot") && shardIds) {
    const single = await depositBaseline();
    rows.push(single);
    const noFlush = { PGOPTIONS: "-c synchronous_commit=off" };
    const split = (n: number) => ({ lo: shardIds.lo, hi: shardIds.lo + n - 1 });
    const limit = "synchronous_commit=off (the WAL-flush limit, not for money)";
    const variants: [string, { lo: number; hi: number }, Record<string, string>][] = [
      ...SHARDS.map((n) => [`the treasury split in ${n} (random)`, split(n), {}] as const),
      [`1 treasury row, ${limit}`, oneTreasury, noFlush],
      [`the treasury split in ${Math.max(...SHARDS)}, ${limit}`, shardIds, noFlush],
    ];
    for (const [label, bank, env] of variants) {
      rows.push(withBaseline(await deposit(label, bank, env), single));
      await checkBooks(db, `after pgbench's deposits, ${label}`);
    }
    // Batches of 10 deposits per transaction (p50/p99 are per batch): the same statements with
    // one commit (deposit-batch.sql), then one set-based statement (deposit-set.sql).
    const batches: [string, string][] = [
      ["1 treasury row, 10 deposits per commit (latency per batch)", "deposit-batch.sql"],
      [
        "1 treasury row, 10 deposits per statement (set-based; latency per batch)",
        "deposit-set.sql",
      ],
    ];
    for (const [label, script] of batches) {
      rows.push(withBaseline(await deposit(label, oneTreasury, {}, { script, batch: 10 }), single));
      await checkBooks(db, `after pgbench's deposits, ${label}`);
    }
  }
  if (!rows.includes(pgbenchDeposits as Row) && pgbenchDeposits) rows.push(pgbenchDeposits);
  if (!rows.includes(pgbenchTransfers as Row) && pgbenchTransfers) rows.push(pgbenchTransfers);
  await checkBooks(db, "at the end");

  const errors = rows.reduce((sum, r) => sum + r.errors, 0);
  const table = report(rows, await machine(db), errors);
  console.log(`\n${table}`);
  if (!args.smoke) {
    const results = path.join(PROJECT_ROOT, "bench/results/latest.md");
    await Bun.write(results, table);
    // Aligned as the linter wants the committed file (biome formats Markdown tables).
    Bun.spawnSync([process.execPath, "x", "biome", "format", "--write", results], {
      cwd: PROJECT_ROOT,
      stdout: "ignore",
      stderr: "ignore",
    });
  }
  if (errors > 0) {
    console.error(`bench: INVALID RUN: ${errors} errors (the API's log: ${apiLog})`);
    process.exitCode = 1;
  }
} finally {
  for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => {});
  await sql?.end();
  if (process.exitCode !== 1) await rm(folder, { recursive: true, force: true });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
}

// ---- helpers ----------------------------------------------------------------------------------

/** dist/simplebank, built when missing or older than src/; `bun src/main.ts` when that fails. */
/** `--api-env KEY=VALUE` pairs, applied over the API's environment. */
function apiEnvOverrides(): Record<string, string> {
  const pairs = (args["api-env"] ?? []).map((pair) => {
    const at = pair.indexOf("=");
    if (at < 1) throw new Error(`--api-env ${pair}: expected KEY=VALUE`);
    return [pair.slice(0, at), pair.slice(at + 1)] as const;
  });
  return Object.fromEntries(pairs);
}

async function apiCommand(): Promise<string[]> {
  const main = path.join(PROJECT_ROOT, "src/main.ts");
  if (args.profile) {
    const dir = path.resolve(args.profile);
    return [process.execPath, "--cpu-prof-md", `--cpu-prof-dir=${dir}`, main];
  }
  const source = [process.execPath, main];
  if (args.source) return source;
  const built = await stat(BINARY).catch(() => undefined);
  let newest = 0;
  for (const file of await readdir(path.join(PROJECT_ROOT, "src"), { recursive: true })) {
    newest = Math.max(newest, (await stat(path.join(PROJECT_ROOT, "src", file))).mtimeMs);
  }
  if (built && built.mtimeMs >= newest) return [BINARY];
  try {
    console.log("building dist/simplebank (bun run build)…");
    return [(await buildBinary(BINARY)).path];
  } catch (error) {
    console.warn(`bench: WARNING: no binary (${String(error).split("\n")[0]}); bun src/main.ts`);
    return source;
  }
}

async function waitReady(base: string, child: ReturnType<typeof Bun.spawn>) {
  const started = performance.now();
  while (true) {
    if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode})`);
    if (performance.now() - started > 60_000) throw new Error("the API never became ready");
    const status = await fetch(`${base}/readyz`).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
      () => 0,
    );
    if (status === 200) return;
    await Bun.sleep(50);
  }
}

/** Waits until `file` (a process's log) contains `text`. */
async function waitLogged(file: string, text: string, child: ReturnType<typeof Bun.spawn>) {
  const started = performance.now();
  while (
    !(
      await Bun.file(file)
        .text()
        .catch(() => "")
    ).includes(text)
  ) {
    if (child.exitCode !== null) throw new Error(`the API exited (${child.exitCode})`);
    if (performance.now() - started > 60_000) throw new Error(`the API never logged "${text}"`);
    await Bun.sleep(50);
  }
}

interface Seeded {
  username: string;
  account: number;
  token: string;
}

/**
 * A banker, then ACCOUNTS users each with a funded USD account and an access token; with
 * `shards` > 0, that many "treasury shard" users after them (bench_shard_NN), each with one USD
 * account funded with SHARD_FUNDS (their ids one range after the customers').
 */
async function seed(
  base: string,
  db: postgres.Sql,
  shards: number,
): Promise<{ users: Seeded[]; shards: Seeded[]; banker: string }> {
  const call = async (method: string, route: string, body?: unknown, token?: string) => {
    const res = await fetch(`${base}${route}`, {
      method,
      headers: {
        "Content-Type": "application/json",
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const register = async (username: string) => {
    await call("POST", "/users", {
      username,
      password: PASSWORD,
      full_name: "Bench User",
      email: `${username}@example.com`,
    });
  };
  const login = async (username: string) =>
    String((await call("POST", "/users/login", { username, password: PASSWORD })).access_token);

  const started = performance.now();
  await register("bench_banker");
  await db`update users set role = 'banker' where username = 'bench_banker'`;
  const banker = await login("bench_banker");
  const registered = async (names: string[]) => {
    const made: Seeded[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < names.length) {
          const username = names[next++] as string;
          await register(username);
          made.push({ username, account: 0, token: await login(username) });
        }
      }),
    );
    return made.sort((a, b) => a.username.localeCompare(b.username));
  };
  const users = await registered(
    Array.from({ length: ACCOUNTS }, (_, i) => `bench_${String(i).padStart(5, "0")}`),
  );
  const shardUsers = await registered(
    Array.from({ length: shards }, (_, i) => `bench_shard_${String(i).padStart(2, "0")}`),
  );
  console.log(`registered and logged in ${users.length + shardUsers.length} users`);
  // Accounts one at a time, so their ids are one contiguous range (pgbench draws from it).
  for (const user of [...users, ...shardUsers]) {
    user.account = Number((await call("POST", "/accounts", { currency: "USD" }, user.token)).id);
  }
  const funded = [
    ...users.map((user) => ({ user, amount: 1_000_000 })),
    ...shardUsers.map((user) => ({ user, amount: SHARD_FUNDS })),
  ];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < funded.length) {
        const { user, amount } = funded[next++] as (typeof funded)[number];
        await call(
          "POST",
          `/accounts/${user.account}/deposits`,
          { amount, currency: "USD" },
          banker,
        );
      }
    }),
  );
  console.log(
    `seeded ${users.length + shardUsers.length} users, accounts and deposits through the API in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return { users, shards: shardUsers, banker };
}

/** The lowest and highest of a set of ids that must be one contiguous range (pgbench draws from it). */
function idRange(seeded: Seeded[], what: string): { lo: number; hi: number } {
  const ids = seeded.map((u) => u.account).sort((a, b) => a - b);
  const lo = ids[0] ?? 0;
  const hi = ids.at(-1) ?? 0;
  if (hi - lo + 1 !== ids.length) throw new Error(`seeded ${what} ids are not contiguous`);
  return { lo, hi };
}

/**
 * The books: each currency sums to 0, each balance is its entries' sum and its latest entry's
 * balance_after, each transfer 2 entries summing to 0.
 */
async function checkBooks(db: postgres.Sql, when: string) {
  const [books] = await db<
    { currencies: number; balances: number; running: number; transfers: number }[]
  >`
    select
      (select count(*) from (select currency from accounts group by currency
         having sum(balance) <> 0) c)::int as currencies,
      (select count(*) from accounts a where a.balance <>
         coalesce((select sum(amount) from entries e where e.account_id = a.id), 0))::int as balances,
      (select count(*) from accounts a where a.balance <>
         coalesce((select balance_after from entries e where e.account_id = a.id
           order by e.id desc limit 1), 0))::int as running,
      (select count(*) from transfers t where (select count(*) from entries e
         where e.transfer_id = t.id) <> 2 or (select sum(amount) from entries e
         where e.transfer_id = t.id) <> 0)::int as transfers`;
  if (!books || books.currencies + books.balances + books.running + books.transfers > 0) {
    throw new Error(`the books do not balance ${when}: ${JSON.stringify(books)}`);
  }
  console.log(`books balanced ${when}`);
}

interface Measured {
  perSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  errors: number;
  /** The load generator's own CPU time. */
  cpuSeconds: number;
}

async function wrk(
  url: string,
  mode: string,
  concurrency: number,
  duration: number,
  env: Record<string, string>,
  rate?: number,
): Promise<Measured> {
  const threads = Math.min(WRK_THREADS, concurrency);
  const pacing = rate === undefined ? {} : { BENCH_RATE_PER_THREAD: String(rate / threads) };
  const child = Bun.spawn(
    [
      "wrk",
      `-t${threads}`,
      `-c${concurrency}`,
      `-d${Math.max(1, Math.round(duration))}s`,
      "--timeout",
      "10s",
      "--latency",
      "-s",
      path.join(import.meta.dir, "wrk/bench.lua"),
      url,
    ],
    {
      env: {
        ...process.env,
        ...env,
        ...pacing,
        BENCH_MODE: mode,
        BENCH_RUN: crypto.randomUUID(),
      },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  const line = out.split("\n").find((l) => l.startsWith("BENCH_RESULT "));
  if (code !== 0 || !line) throw new Error(`wrk ${mode} failed (exit ${code}):\n${out}${err}`);
  const r = JSON.parse(line.slice("BENCH_RESULT ".length)) as {
    requests: number;
    duration_us: number;
    non2xx: number;
    socket_errors: number;
    p50_us: number;
    p99_us: number;
  };
  return {
    perSecond: r.requests / (r.duration_us / 1e6),
    p50Ms: r.p50_us / 1000,
    p99Ms: r.p99_us / 1000,
    errors: r.non2xx + r.socket_errors,
    cpuSeconds: childCpu(child),
  };
}

/** pgbench on bench/pgbench/<script>, each of `defines` a -D variable, `env` over its environment. */
async function runPgbench(
  script: string,
  concurrency: number,
  duration: number,
  defines: Record<string, string | number>,
  env: Record<string, string> = {},
): Promise<Measured> {
  const logs = await mkdtemp(path.join(folder, "pgbench-"));
  const child = Bun.spawn(
    [
      "pgbench",
      "-n",
      "-M",
      "prepared",
      `-c${concurrency}`,
      `-j${WRK_THREADS}`,
      `-T${Math.max(1, Math.round(duration))}`,
      ...Object.entries(defines).flatMap(([name, value]) => ["-D", `${name}=${value}`]),
      "-l",
      "--log-prefix",
      path.join(logs, "tx"),
      "-f",
      path.join(import.meta.dir, "pgbench", script),
      databaseUrl,
    ],
    { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" },
  );
  const [out, err, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  const tps = /tps = ([0-9.]+) \(without initial connection time\)/.exec(out);
  if (code !== 0 || !tps) throw new Error(`pgbench ${script} failed (exit ${code}):\n${out}${err}`);
  const failed = /number of failed transactions: ([0-9]+)/.exec(out);
  // Per-transaction log lines: client_id transaction_no time(us) script_no time_epoch time_us.
  const latencies: number[] = [];
  for (const file of await readdir(logs)) {
    for (const line of (await Bun.file(path.join(logs, file)).text()).split("\n")) {
      const us = Number(line.split(" ")[2]);
      if (line && Number.isFinite(us)) latencies.push(us / 1000);
    }
  }
  await rm(logs, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return {
    perSecond: Number(tps[1]),
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    errors: Number(failed?.[1] ?? 0),
    cpuSeconds: childCpu(child),
  };
}

/** bench/floor.ts in a process of its own (its CPU is measured apart from wrk's). */
async function startFloor() {
  const child = Bun.spawn([process.execPath, path.join(import.meta.dir, "floor.ts")], {
    env: { ...process.env, BENCH_FLOOR_DATABASE_URL: databaseUrl, BENCH_FLOOR_POOL_MAX: "10" },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let text = "";
  while (!/listening [0-9]+/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`bench/floor.ts exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  const port = /listening ([0-9]+)/.exec(text)?.[1];
  let stopped = false;
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}

/** Bun.password.verify at BCRYPT_COST, `concurrency` at a time, in this process. */
async function bcryptRow(concurrency: number): Promise<Row> {
  const hash = await Bun.password.hash(PASSWORD, { algorithm: "bcrypt", cost: BCRYPT_COST });
  const verify = async (forSeconds: number) => {
    let count = 0;
    let errors = 0;
    const deadline = performance.now() + forSeconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < deadline) {
          if (await Bun.password.verify(PASSWORD, hash, "bcrypt")) count += 1;
          else errors += 1;
        }
      }),
    );
    return { count, errors };
  };
  await verify(WARMUP);
  const meter = await cpuMeter({ "bench process": async () => [process.pid] });
  const started = performance.now();
  const { count, errors } = await verify(DURATION);
  return {
    path: `raw bcrypt verifications (Bun.password, cost ${BCRYPT_COST})`,
    concurrency,
    perSecond: count / ((performance.now() - started) / 1000),
    errors,
    ...(await meter()),
  };
}

function withBaseline(row: Row, baseline: Row): Row {
  return { ...row, baseline: baseline.path, baselinePerSecond: baseline.perSecond };
}

async function machine(db: postgres.Sql) {
  const [version] = await db<{ server_version: string }[]>`show server_version`;
  const cpuinfo = await Bun.file("/proc/cpuinfo")
    .text()
    .catch(() => "");
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown CPU";
  const load = await Bun.file("/proc/loadavg")
    .text()
    .then((t) => t.split(" ").slice(0, 3).join(" "))
    .catch(() => "?");
  return `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC; ${navigator.hardwareConcurrency} cores (${model}), load average ${load} at the end; PostgreSQL ${version?.server_version} at ${dbUrl.host}; Bun ${Bun.version}`;
}

function report(rows: Row[], machineLine: string, errors: number) {
  const n = (value: number) => Math.round(value).toLocaleString("en-US");
  const ms = (value?: number) => (value === undefined ? "" : `${value.toFixed(1)} ms`);
  const lines = [
    "# The API's hot paths against the machine's own limits (bun run bench)",
    "",
    `Measured ${machineLine}. Each phase ${DURATION} s after a ${WARMUP} s warm-up; ${ACCOUNTS} funded USD accounts, random pairs, amount 1; bcrypt cost ${BCRYPT_COST}; rate limits off; no Redis (revocations from the database); load by wrk (${WRK_THREADS} threads) and pgbench (-M prepared). CPU: % of one core over the measured phase; server RSS: at the phase's start → its peak. ${errors === 0 ? "Valid run: 0 errors, books balanced after every phase." : `INVALID RUN: ${errors} errors.`}`,
    "",
    "| path | concurrency | throughput/s | p50 | p99 | errors | baseline | ratio | CPU | server RSS |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.path} | ${r.concurrency} | ${n(r.perSecond)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${r.errors} | ${r.baseline ? `${r.baseline}: ${n(r.baselinePerSecond ?? 0)}/s` : ""} | ${r.baselinePerSecond ? (r.perSecond / r.baselinePerSecond).toFixed(2) : ""} | ${r.cpu} | ${r.rss} |`,
    ),
  ];
  const series = rows.filter((r) => r.rssSeries && r.rssSeries.length > 0);
  if (series.length > 0) {
    lines.push(
      "",
      `The server's RSS during each phase (MiB, a sample every ${RSS_EVERY_S} s from the phase's start):`,
      "",
      ...series.map((r) => `- ${r.path}: ${r.rssSeries?.join(", ")}`),
    );
  }
  return `${lines.join("\n")}\n`;
}
