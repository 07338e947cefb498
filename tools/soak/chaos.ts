/**
 * The chaos loop: while the load runs, one fault after another, each followed by a calm spell:
 * the database connections of every process terminated (pg_terminate_backend), Redis killed
 * and started again, instance B killed (SIGKILL) or stopped (SIGTERM) and started again, the
 * worker the same, and the mail provider answering 503 for a while. Instance A is never
 * stopped: while B is down, clients retry on A.
 */
import postgres from "postgres";
import { resendError } from "../../tests/support/email-capture.ts";
import { type Cluster, type Managed, workerReady } from "./cluster.ts";

interface Fault {
  kind: string;
  startedAt: number;
  endedAt: number;
  detail: string;
}

export const FAULT_KINDS = [
  "db-terminate",
  "redis-restart",
  "api-sigkill",
  "api-sigterm",
  "worker-sigkill",
  "worker-sigterm",
  "mail-5xx",
] as const;

type FaultKind = (typeof FAULT_KINDS)[number];

export interface Chaos {
  faults: Fault[];
  /** Windows (epoch ms) in which instance B was not serving. */
  downtime: { from: number; to: number }[];
  /** Could a request to B in [from, to] have met it down (stopping, stopped or starting)? */
  mayBeDown(from: number, to: number): boolean;
  /** Problems seen by the chaos loop itself (a SIGTERM that did not exit 0, a failed restart). */
  problems: string[];
  /** Stops after the fault in progress, with everything back up. */
  stop(): Promise<void>;
}

export function startChaos(
  cluster: Cluster,
  options: { kinds: FaultKind[]; calmMs: number; log: (line: string) => void },
): Chaos {
  const faults: Fault[] = [];
  const downtime: Chaos["downtime"] = [];
  const problems: string[] = [];
  const sql = postgres(cluster.database.url, { max: 1, onnotice: () => {} });
  const databaseName = new URL(cluster.database.url).pathname.slice(1);
  let stopping = false;
  let downSince: number | undefined;
  let wake: (() => void) | undefined;
  const calm = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const restart = async (process: Managed, signal: "SIGKILL" | "SIGTERM", pauseMs: number) => {
    const from = Date.now();
    if (process === cluster.apiB) downSince = from;
    const code = await process.stop(signal);
    if (signal === "SIGTERM" && code !== 0) {
      problems.push(
        `${process.name} exited ${code} after SIGTERM (expected 0):\n${process.output().slice(-1500)}`,
      );
    }
    await Bun.sleep(pauseMs);
    process.start();
    if (process === cluster.worker) await workerReady(cluster);
    else await process.ready();
    if (process === cluster.apiB) {
      downtime.push({ from, to: Date.now() });
      downSince = undefined;
    }
    return `exit ${code}, back after ${Date.now() - from} ms (pid ${process.pid})`;
  };

  const inject: Record<FaultKind, () => Promise<string>> = {
    async "db-terminate"() {
      // Listed first, then terminated: in one WHERE clause the planner may terminate before it
      // filters (our own connection included).
      const rows = await sql<{ pid: number; application_name: string }[]>`
        select pid, application_name from pg_stat_activity
        where datname = ${databaseName} and pid <> pg_backend_pid()`;
      const names = new Map<string, number>();
      for (const row of rows) {
        const [ended] = await sql<{ ok: boolean }[]>`select pg_terminate_backend(${row.pid}) as ok`;
        if (!ended?.ok) continue;
        const name = row.application_name || "?";
        names.set(name, (names.get(name) ?? 0) + 1);
      }
      const total = [...names.values()].reduce((a, b) => a + b, 0);
      return `${total} connections terminated (${[...names].map(([n, c]) => `${n} ${c}`).join(", ")})`;
    },
    async "redis-restart"() {
      const from = Date.now();
      await cluster.redisServer.stop("SIGKILL");
      await Bun.sleep(2_000);
      cluster.redisServer.start();
      await cluster.redisServer.ready(cluster.redisUp);
      return `redis-server down ${Date.now() - from} ms`;
    },
    "api-sigkill": () => restart(cluster.apiB, "SIGKILL", 1_000),
    "api-sigterm": () => restart(cluster.apiB, "SIGTERM", 500),
    "worker-sigkill": () => restart(cluster.worker, "SIGKILL", 1_000),
    "worker-sigterm": () => restart(cluster.worker, "SIGTERM", 500),
    async "mail-5xx"() {
      cluster.mail.respondWith(503, resendError(503), Number.POSITIVE_INFINITY);
      await Bun.sleep(4_000);
      cluster.mail.reset();
      return "the provider answered 503 for 4 s";
    },
  };

  const loop = (async () => {
    await calm(options.calmMs);
    for (let i = 0; !stopping; i++) {
      const kind = options.kinds[i % options.kinds.length] as FaultKind;
      const startedAt = Date.now();
      let detail: string;
      try {
        detail = await inject[kind]();
      } catch (error) {
        detail = `failed: ${error instanceof Error ? error.message : String(error)}`;
        problems.push(`${kind} ${detail}`);
      }
      const fault = { kind, startedAt, endedAt: Date.now(), detail };
      faults.push(fault);
      options.log(`fault ${faults.length}: ${kind}: ${detail}`);
      if (!stopping) await calm(options.calmMs);
    }
  })();

  return {
    faults,
    downtime,
    problems,
    mayBeDown(from, to) {
      // A second of slack after each window: sockets of the old process still closing.
      if (downSince !== undefined && to >= downSince) return true;
      return downtime.some((w) => from <= w.to + 1_000 && to >= w.from);
    },
    async stop() {
      if (stopping) return loop;
      stopping = true;
      wake?.();
      await loop;
      await sql.end();
    },
  };
}
