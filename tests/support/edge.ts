import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { type Bundle, buildBundle } from "../../tools/edge/bundle.ts";
import { type ConnectionGate, startConnectionGate } from "../../tools/edge/connection-gate.ts";
import { type LocalWorker, startLocalWorker } from "../../tools/edge/workerd.ts";
import { TEST_ENV, testDatabase } from "./database.ts";
import type { EmailCapture } from "./email-capture.ts";

/**
 * The Cloudflare Worker under test, in workerd itself: the bundle `bun run build:edge` makes,
 * built once per run, each instance a workerd process of its own (Miniflare) on a port it
 * picked. By default an instance uses the run's database (through a connection gate, the local
 * stand-in for Hyperdrive's pooling), the run's Redis endpoint and key prefix when REDIS_URL
 * is set (so it shares revocations and limits with the in-process app), and TEST_ENV (the same
 * token key: tokens work on both runtimes). Test files stop theirs with `stopEdges()`.
 */

export const TEST_APP_BASE_URL = "https://bank.example.test";
export const TEST_EMAIL_FROM = "Simple Bank <no-reply@bank.example.test>";
const TEST_RESEND_KEY = "re_test_edge";

/** Connections the Worker instances of a run may hold to the database at once. */
export const GATE_CONNECTIONS = 40;

let bundle: Promise<Bundle> | undefined;
let gate: Promise<ConnectionGate> | undefined;

/** Built into a folder of the run's own, so a `bun run edge` next to it is left alone. */
export function edgeBundle(): Promise<Bundle> {
  bundle ??= mkdtemp(path.join(tmpdir(), "simplebank-edge-")).then((dir) => buildBundle(dir));
  return bundle;
}

/** The run's database behind the connection gate. */
export function gatedDatabase(): Promise<ConnectionGate> {
  gate ??= testDatabase().then((database) => startConnectionGate(database.url, GATE_CONNECTIONS));
  return gate;
}

export interface EdgeOptions {
  /** Variables on top of the defaults (rate limits, a bad value…). */
  env?: Record<string, string>;
  /** Use the run's Redis endpoint (default: when there is one). */
  redis?: boolean;
  /** Send email through resend to this capture server (default: the log mailer). */
  mail?: EmailCapture;
  /** Another database URL than the run's (not gated), or null for none at all. */
  databaseUrl?: string | null;
}

const running = new Set<LocalWorker>();

/** Removes the run's bundle folder (the run's teardown). */
export async function removeEdgeBundle(): Promise<void> {
  if (!bundle) return;
  const { dir } = await bundle;
  await rm(dir, { recursive: true, force: true });
}

/** Stops every instance still running (a test file's afterAll). */
export async function stopEdges(): Promise<void> {
  const workers = [...running];
  running.clear();
  await Promise.all(workers.map((worker) => worker.stop()));
}

export async function startEdge(options: EdgeOptions = {}): Promise<LocalWorker> {
  const database = await testDatabase();
  const bindings: Record<string, string> = { ...TEST_ENV };
  if (options.databaseUrl !== null) {
    bindings.DATABASE_URL = options.databaseUrl ?? (await gatedDatabase()).url;
  }
  if ((options.redis ?? true) && database.redis) {
    bindings.UPSTASH_REDIS_REST_URL = database.redis.url;
    bindings.UPSTASH_REDIS_REST_TOKEN = database.redis.token;
    bindings.REDIS_KEY_PREFIX = database.redisPrefix;
  }
  if (options.mail) {
    bindings.RESEND_API_KEY = TEST_RESEND_KEY;
    bindings.RESEND_BASE_URL = options.mail.baseUrl;
    bindings.EMAIL_FROM = TEST_EMAIL_FROM;
    bindings.APP_BASE_URL = TEST_APP_BASE_URL;
  }
  Object.assign(bindings, options.env);
  const worker = await startLocalWorker(await edgeBundle(), {
    bindings,
    // workerd picks the port itself: no window in which another process could take it.
    port: 0,
    captureOutput: true,
  });
  running.add(worker);
  return {
    ...worker,
    async stop() {
      running.delete(worker);
      await worker.stop();
    },
  };
}

/** The Worker's log lines that are JSON (production format) or readable (otherwise). */
export function logLines(worker: LocalWorker): string[] {
  return worker.output().split("\n").filter(Boolean);
}
