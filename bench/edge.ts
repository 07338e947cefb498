/**
 * `bun run bench:edge`: the Worker measured in workerd on this machine, each figure next to a
 * baseline taken in the same run (never an assertion):
 * - the bundle's size, raw and gzipped (goal < 1 MiB gzipped; the free plan's cap is 3 MiB);
 * - cold start: a fresh workerd process to its first 200 on /healthz, and the first /readyz of
 *   a fresh isolate (configuration parsed, first database connection);
 * - transfers per second through the local Worker, against the Bun server (the same app, the
 *   same database, the same load) as the baseline.
 * Database: BENCH_DATABASE_URL (default the machine's PostgreSQL), a throwaway database made
 * and dropped here; the Worker reaches it through the connection gate that stands in for
 * Hyperdrive. Options: --seconds N (per load run, default 10), --concurrency N (default 16).
 * Writes bench/results/edge.md.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { bunBcrypt } from "../src/bun/bcrypt.ts";
import { bunConnectionIp } from "../src/bun/connection-ip.ts";
import { docsAssets } from "../src/bun/docs-assets.ts";
import { runMigrations } from "../src/bun/migrate.ts";
import { loadConfig } from "../src/core/config/config.ts";
import { openDatabase } from "../src/core/db/client.ts";
import { createApp } from "../src/core/http/app.ts";
import { startJobQueue } from "../src/core/jobs/boss.ts";
import { silentLogger } from "../src/core/lib/logger.ts";
import { buildHttpDeps } from "../src/core/wiring/http.ts";
import { buildServices, buildSharedStores } from "../src/core/wiring/services.ts";
import { buildBundle, kib, PROJECT_ROOT } from "../tools/edge/bundle.ts";
import { startConnectionGate } from "../tools/edge/connection-gate.ts";
import { startLocalWorker } from "../tools/edge/workerd.ts";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    concurrency: { type: "string", default: "16" },
  },
});
const SECONDS = Number(args.seconds);
const CONCURRENCY = Number(args.concurrency);
const COLD_STARTS = 5;
const ACCOUNTS = 100;

const ENV = {
  NODE_ENV: "test",
  BCRYPT_COST: "4",
  TOKEN_SYMMETRIC_KEY: crypto.randomUUID().replaceAll("-", ""),
  RATE_LIMIT_ENABLED: "false",
  LOG_LEVEL: "error",
};

const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const dbName = `bench_edge_${process.pid}`;
await admin.unsafe(`create database "${dbName}"`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const databaseUrl = url.toString();

const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { min: sorted[0] ?? 0, median: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
};
const ms = (value: number) => `${value.toFixed(1)} ms`;

try {
  const handle = openDatabase({ url: databaseUrl, poolMax: 20, applicationName: "bench-edge" });
  await runMigrations(handle);
  await (await startJobQueue({ url: databaseUrl, logger: silentLogger })).stop();
  const gate = await startConnectionGate(databaseUrl, 40);

  const bundle = await buildBundle();
  console.log(`bundle: ${kib(bundle.bytes)} raw, ${kib(bundle.gzipBytes)} gzipped`);
  const bindings = { ...ENV, DATABASE_URL: gate.url };

  // Cold starts: a new workerd each time.
  const toHealthz: number[] = [];
  const firstReadyz: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const started = performance.now();
    const worker = await startLocalWorker(bundle, {
      bindings,
      port: 0,
      captureOutput: true,
    });
    const res = await fetch(`${worker.url}/healthz`);
    await res.text();
    toHealthz.push(performance.now() - started);
    await worker.stop();
    const fresh = await startLocalWorker(bundle, {
      bindings,
      port: 0,
      captureOutput: true,
    });
    const readyStarted = performance.now();
    await (await fetch(`${fresh.url}/readyz`)).text();
    firstReadyz.push(performance.now() - readyStarted);
    await fresh.stop();
  }

  // The Bun server: the same app in this process, on the same database.
  const config = loadConfig({ ...ENV, DATABASE_URL: databaseUrl });
  const stores = buildSharedStores(config, silentLogger);
  const services = buildServices(config, { logger: silentLogger, stores, bcrypt: bunBcrypt });
  const app = createApp(
    buildHttpDeps(config, {
      services,
      stores,
      logger: silentLogger,
      database: () => handle.db,
      connectionIp: bunConnectionIp,
      docsAssets,
    }),
  );
  const bunServer = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  const worker = await startLocalWorker(bundle, {
    bindings,
    port: 0,
    captureOutput: true,
  });

  const runs = [
    { name: "Bun server (baseline)", url: `http://127.0.0.1:${bunServer.port}` },
    { name: "Worker in workerd", url: worker.url },
  ];
  const results: {
    name: string;
    perSecond: number;
    latency: ReturnType<typeof stats>;
    errors: number;
  }[] = [];
  for (const run of runs) results.push(await transferLoad(run.name, run.url));

  const baseline = results[0]?.perSecond ?? 1;
  const lines = [
    `# The Worker in workerd (bun run bench:edge)`,
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} on ${navigator.hardwareConcurrency} cores, PostgreSQL at ${url.host}; transfers: ${CONCURRENCY} concurrent clients for ${SECONDS} s between ${ACCOUNTS} funded accounts, rate limits off, no Redis.`,
    "",
    "| measure | value | baseline in the same run | ratio |",
    "|---|---|---|---|",
    `| bundle, gzipped | ${kib(bundle.gzipBytes)} (${kib(bundle.bytes)} raw) | goal 1024.0 KiB, free plan cap 3072.0 KiB | ${(bundle.gzipBytes / (1024 * 1024)).toFixed(2)} of the goal |`,
    `| cold start: new workerd → first 200 on /healthz | median ${ms(stats(toHealthz).median)} (min ${ms(stats(toHealthz).min)}, max ${ms(stats(toHealthz).max)}) | | |`,
    `| first /readyz of a fresh isolate (config, first DB connection) | median ${ms(stats(firstReadyz).median)} (min ${ms(stats(firstReadyz).min)}, max ${ms(stats(firstReadyz).max)}) | | |`,
    ...results.map(
      (r) =>
        `| transfers/s, ${r.name} | ${r.perSecond.toFixed(0)}/s, p50 ${ms(r.latency.median)}, p99 ${ms(r.latency.p99)}, ${r.errors} errors | ${baseline.toFixed(0)}/s (Bun server) | ${(r.perSecond / baseline).toFixed(2)} |`,
    ),
  ];
  const table = `${lines.join("\n")}\n`;
  console.log(`\n${table}`);
  await Bun.write(path.join(PROJECT_ROOT, "bench/results/edge.md"), table);

  bunServer.stop(true);
  await worker.stop();
  await gate.stop();
  await handle.close();

  async function transferLoad(name: string, base: string) {
    const post = (p: string, body: unknown, token?: string) =>
      fetch(`${base}${p}`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          ...(token ? { Authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    const user = async (role?: "banker") => {
      const username = `b_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
      await post("/users", {
        username,
        password: "bench password",
        full_name: "Bench",
        email: `${username}@example.com`,
      });
      if (role) await sql`update users set role = 'banker' where username = ${username}`;
      const login = (await (
        await post("/users/login", { username, password: "bench password" })
      ).json()) as { access_token: string };
      return login.access_token;
    };
    const banker = await user("banker");
    const owners: { token: string; account: number }[] = [];
    for (let i = 0; i < ACCOUNTS; i++) {
      const token = await user();
      const account = (
        (await (await post("/accounts", { currency: "USD" }, token)).json()) as { id: number }
      ).id;
      await post(`/accounts/${account}/deposits`, { amount: 1_000_000, currency: "USD" }, banker);
      owners.push({ token, account });
    }
    const latencies: number[] = [];
    let errors = 0;
    const pick = () =>
      owners[Math.floor(Math.random() * owners.length)] as { token: string; account: number };
    const deadline = performance.now() + SECONDS * 1000;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const from = pick();
          let to = pick();
          while (to.account === from.account) to = pick();
          const started = performance.now();
          const res = await post(
            "/transfers",
            {
              from_account_id: from.account,
              to_account_id: to.account,
              amount: 1,
              currency: "USD",
            },
            from.token,
          );
          await res.arrayBuffer();
          latencies.push(performance.now() - started);
          if (res.status !== 201) errors += 1;
        }
      }),
    );
    const [balanced] = await sql<{ ok: boolean }[]>`
      select coalesce(sum(balance), 0) = 0 as ok from accounts where currency = 'USD'`;
    if (!balanced?.ok) throw new Error(`${name}: the books do not balance`);
    await sql.end();
    console.log(`${name}: ${latencies.length} transfers, ${errors} errors`);
    return { name, perSecond: latencies.length / SECONDS, latency: stats(latencies), errors };
  }
} finally {
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
}
