/**
 * `bun run soak [--duration 60s] [--clients 6] [--no-chaos]`: mixed load against two API
 * instances and one job worker sharing one throwaway database and one Redis (all started
 * here), with faults injected while it runs (tools/soak/chaos.ts), then the checks of
 * tools/soak/checks.ts. Prints a report; exits 1 on any violation, 2 when it cannot run
 * (no redis-server on PATH, say). Long runs: `bun run soak --duration 30m`.
 */
import { parseArgs } from "node:util";
import postgres from "postgres";
import { parseDuration } from "../../src/core/lib/duration.ts";
import { type Chaos, FAULT_KINDS, startChaos } from "./chaos.ts";
import {
  checkLedger,
  checkSignups,
  checkVerificationEmails,
  type RssSample,
  rssReport,
  Verifier,
} from "./checks.ts";
import { type Cluster, rssKiB, startCluster } from "./cluster.ts";
import { Recorder, type Target } from "./http.ts";
import { type LoadState, runClient, sendTransfer } from "./load.ts";

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: "60s" },
    clients: { type: "string", default: "6" },
    "no-chaos": { type: "boolean", default: false },
    calm: { type: "string", default: "3s" },
  },
});
const durationMs = parseDuration(args.duration);
const calmMs = parseDuration(args.calm);
const clients = Number(args.clients);
if (!durationMs || calmMs === undefined || !Number.isInteger(clients) || clients < 1) {
  console.error("usage: bun run soak [--duration 60s|30m] [--clients N] [--calm 3s] [--no-chaos]");
  process.exit(2);
}
if (!Bun.which("redis-server")) {
  console.error(
    "soak: redis-server is not on PATH (the soak runs and restarts a Redis of its own)",
  );
  process.exit(2);
}

const t0 = Date.now();
const log = (line: string) => {
  console.log(`[soak ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}`);
};

const cluster: Cluster = await startCluster(log);
const sql = postgres(cluster.database.url, { max: 2, onnotice: () => {} });
const recorder = new Recorder();
let chaos: Chaos | undefined;
let exitCode = 0;
try {
  const targetA: Target = {
    name: "api-a",
    baseUrl: `http://127.0.0.1:${cluster.apiA.port}`,
    mayBeDown: () => false,
  };
  const targetB: Target = {
    name: "api-b",
    baseUrl: `http://127.0.0.1:${cluster.apiB.port}`,
    mayBeDown: (from, to) => chaos?.mayBeDown(from, to) ?? false,
  };
  const state: LoadState = {
    recorder,
    targets: [targetA, targetB],
    customers: [],
    signups: new Map(),
    transfers: [],
    deposits: [],
    grantBanker: async (username) => {
      await sql`update users set role = 'banker' where username = ${username}`;
    },
    stopping: false,
  };

  const samples: RssSample[] = [];
  const sampler = setInterval(async () => {
    for (const process of [cluster.apiA, cluster.apiB, cluster.worker]) {
      const pid = process.pid;
      const kib = pid ? await rssKiB(pid) : undefined;
      if (pid && kib) samples.push({ at: Date.now(), process: process.name, pid, kib });
    }
  }, 1_000);

  log(
    `load: ${clients} clients for ${args.duration}${args["no-chaos"] ? ", no faults" : ", with faults"}`,
  );
  const loadStarted = Date.now();
  // Links are opened as they arrive: they live 15 minutes, a long run far longer.
  const verifier = new Verifier(cluster.mail, recorder, state.targets);
  const verifying = setInterval(() => void verifier.sweep(), 2_000);
  const running = Array.from({ length: clients }, () => runClient(state));
  if (!args["no-chaos"]) chaos = startChaos(cluster, { kinds: [...FAULT_KINDS], calmMs, log });
  const progress = setInterval(() => {
    log(
      `${recorder.requests} requests, ${state.transfers.filter((t) => t.final === "paid").length} transfers paid, ${chaos?.faults.length ?? 0} faults, ${recorder.violationCount} violations`,
    );
  }, 10_000);
  // Ctrl-C (or SIGTERM) ends the load early; the checks and the clean-up still run.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, durationMs);
    const early = (signal: string) => {
      log(`${signal}: ending the load early`);
      clearTimeout(timer);
      resolve();
    };
    process.once("SIGINT", () => early("SIGINT"));
    process.once("SIGTERM", () => early("SIGTERM"));
  });
  log("load: stopping (faults first, then the clients finish what they are doing)");
  await chaos?.stop();
  state.stopping = true;
  await Promise.all(running);
  clearInterval(progress);
  clearInterval(sampler);
  clearInterval(verifying);
  const loadMs = Date.now() - loadStarted;
  const requestsUnderLoad = recorder.requests;

  // Transfers whose answer was never known: the same key again, now that all is up.
  const tokenOf = new Map(state.customers.map((c) => [c.username, c.token]));
  const unknown = state.transfers.filter((t) => t.final === "unknown");
  for (const record of unknown) {
    const token = tokenOf.get(record.owner);
    if (token) await sendTransfer(state, record, token);
  }
  if (unknown.length) log(`settled ${unknown.length} transfers whose answers were lost`);

  const figures = await checkLedger(sql, recorder, state.transfers, state.deposits);
  await checkSignups(sql, recorder, state.signups);
  log("books checked; waiting for every verification email");
  const mail = await checkVerificationEmails(sql, cluster.mail, recorder, verifier, 120_000);
  for (const problem of chaos?.problems ?? []) recorder.violation("fault injection", problem);
  const rss = rssReport(samples, recorder, 20);

  // The report.
  const paid = state.transfers.filter((t) => t.final === "paid");
  const resent = paid.filter((t) => t.replays > 0).length;
  const retried = state.transfers.filter((t) => t.answers.length > 1).length;
  const faultCounts = new Map<string, number>();
  for (const fault of chaos?.faults ?? []) {
    faultCounts.set(fault.kind, (faultCounts.get(fault.kind) ?? 0) + 1);
  }
  const missed = chaos ? FAULT_KINDS.filter((kind) => !faultCounts.has(kind)) : [];
  const notInjected = missed.length ? ` (too short a run to inject ${missed.join(", ")})` : "";
  const statuses = [...recorder.counts].sort(([a], [b]) => a.localeCompare(b));
  console.log(`
== soak report ==
duration            ${(loadMs / 1000).toFixed(0)} s of load, ${clients} clients, ${cluster.database.description}
requests            ${requestsUnderLoad} under load (${(requestsUnderLoad / (loadMs / 1000)).toFixed(0)}/s), ${recorder.requests} in all
transfers           ${paid.length} paid (database: ${figures.transfers}), ${state.transfers.filter((t) => t.final === "refused").length} refused for funds, ${retried} keys sent more than once, ${resent} replays of a paid key
deposits            ${figures.deposits} in the database (${state.deposits.length} made), ${(figures.depositedCents / 100).toFixed(2)} USD
signups             ${state.signups.size} (${mail.users} users in the database), ${mail.attempts} mail requests, all emails in ${(mail.waitedMs / 1000).toFixed(1)} s after the load
faults              ${chaos?.faults.length ?? 0}: ${[...faultCounts].map(([k, n]) => `${k} ×${n}`).join(", ") || "none"}${notInjected}
503 answers         ${recorder.unavailable}
answers             ${statuses.map(([k, n]) => `${k}: ${n}`).join(", ")}

RSS (VmRSS, sampled every second):
${rss.join("\n")}
`);
  if (recorder.violationCount > 0) {
    exitCode = 1;
    console.log(`FAIL: ${recorder.violationCount} violations`);
    for (const [kind, n] of recorder.violationKinds) console.log(`  ${kind}: ${n}`);
    console.log("first of each:");
    for (const line of recorder.violations) console.log(`  - ${line}`);
  } else {
    console.log("PASS: no violations");
  }
} catch (error) {
  exitCode = 1;
  console.error("soak: aborted:", error);
} finally {
  await chaos?.stop().catch(() => {});
  await sql.end();
  await cluster.stop();
}
process.exit(exitCode);
