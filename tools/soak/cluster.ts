/**
 * What the soak runs against, all on this machine and all its own: a throwaway database (on
 * SOAK_DATABASE_URL, TEST_DATABASE_URL or DATABASE_URL's server, else an embedded PostgreSQL
 * in a temporary folder), a redis-server on a free port with the project's REST bridge in front
 * (the app speaks Upstash REST), the mail capture server the real resend SDK sends to, and the
 * processes: two API instances (`bun src/main.ts`) and one job worker (`bun src/job-worker.ts`).
 * Every process can be killed and started again on the same port.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import postgres from "postgres";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../src/bun/embedded-postgres.ts";
import { silentLogger } from "../../src/core/lib/logger.ts";
import { type EmailCapture, startEmailCapture } from "../../tests/support/email-capture.ts";
import { freePort, PROJECT_ROOT } from "../../tests/support/process.ts";
import { type RedisRest, startRedisRest } from "../../tests/support/redis.ts";

interface Database {
  url: string;
  /** Where it lives, for the report. */
  description: string;
  drop(): Promise<void>;
}

/** A fresh database on the machine's PostgreSQL, or on an embedded one. */
async function createDatabase(): Promise<Database> {
  const configured =
    process.env.SOAK_DATABASE_URL || process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  let embedded: EmbeddedPostgres | undefined;
  let folder: string | undefined;
  let adminUrl: string;
  if (configured) {
    adminUrl = configured;
  } else {
    folder = await mkdtemp(path.join(tmpdir(), "simplebank-soak-"));
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(folder, "pg"),
      logger: silentLogger,
      ephemeral: true,
    });
    adminUrl = embedded.adminUrl;
  }
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const name = `bank_soak_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    description: `${name} on ${embedded ? "an embedded PostgreSQL" : url.host}`,
    async drop() {
      await admin.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {});
      await admin.end();
      await embedded?.stop();
      if (folder) await rm(folder, { recursive: true, force: true });
    },
  };
}

/** A child process that can be killed and started again (same command, same port). */
export class Managed {
  private child: Subprocess<"ignore", "pipe", "pipe"> | undefined;
  private log = "";
  /** Every pid this process has had, oldest first. */
  readonly pids: number[] = [];

  constructor(
    readonly name: string,
    private readonly argv: string[],
    private readonly env: Record<string, string>,
    /** The HTTP port polled for readiness (0: none). */
    readonly port = 0,
    private readonly readyPath = "/readyz",
  ) {}

  get pid(): number | undefined {
    return this.child && this.child.exitCode === null ? this.child.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** The last 20 000 characters the process printed in its current (or last) life. */
  output(): string {
    return this.log;
  }

  start(): void {
    const child = Bun.spawn(this.argv, {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...this.env },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    this.child = child;
    this.log = "";
    this.pids.push(child.pid);
    const drain = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream)
        this.log = (this.log + decoder.decode(chunk)).slice(-20_000);
    };
    void drain(child.stdout);
    void drain(child.stderr);
  }

  /** Resolves once /readyz answers 200 (or, without a port, once `probe` says so). */
  async ready(probe?: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited:\n${this.output()}`);
      const ok = probe
        ? await probe().catch(() => false)
        : await fetch(`http://127.0.0.1:${this.port}${this.readyPath}`).then(
            async (r) => {
              await r.arrayBuffer();
              return r.status === 200;
            },
            () => false,
          );
      if (ok) return;
      await Bun.sleep(100);
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output()}`);
  }

  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`); returns the exit code. */
  async stop(signal: "SIGTERM" | "SIGKILL", graceMs = 20_000): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await child.exited;
    clearTimeout(timer);
    return child.exitCode;
  }
}

/** VmRSS of a live process in KiB (Linux), or undefined. */
export async function rssKiB(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  const match = status ? /^VmRSS:\s+(\d+)\s+kB/m.exec(status) : null;
  return match ? Number(match[1]) : undefined;
}

export interface Cluster {
  database: Database;
  redisServer: Managed;
  redisRest: RedisRest;
  mail: EmailCapture;
  /** Instance A: never killed (its database connections are). */
  apiA: Managed;
  /** Instance B: killed and restarted by the chaos loop. */
  apiB: Managed;
  worker: Managed;
  apis: Managed[];
  /** Pings Redis over RESP (bypassing the bridge). */
  redisUp(): Promise<boolean>;
  stop(): Promise<void>;
}

/** Environment shared by both instances and the worker. */
function appEnvironment(options: {
  databaseUrl: string;
  redis: RedisRest;
  mailUrl: string;
  appBaseUrl: string;
}): Record<string, string> {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    DATABASE_URL: options.databaseUrl,
    BCRYPT_COST: "4",
    TOKEN_SYMMETRIC_KEY: crypto.randomUUID().replaceAll("-", ""),
    UPSTASH_REDIS_REST_URL: options.redis.url,
    UPSTASH_REDIS_REST_TOKEN: options.redis.token,
    REDIS_KEY_PREFIX: "soak:",
    // Limits stay on, so every transfer and signup counts in Redis, but high enough that one
    // client IP (everything here comes from 127.0.0.1) never reaches them.
    RATE_LIMIT_SIGNUP_IP: "999999/1h",
    RATE_LIMIT_TRANSFERS: "999999/1m",
    RATE_LIMIT_LOGIN_IP: "999999/15m",
    RATE_LIMIT_LOGIN_USERNAME: "999999/15m",
    RESEND_API_KEY: "re_soak_test_key",
    RESEND_BASE_URL: options.mailUrl,
    APP_BASE_URL: options.appBaseUrl,
    WORKER_ENABLED: "false",
    SHUTDOWN_TIMEOUT: "5s",
    GRPC_PORT: "0",
  };
}

export async function startCluster(log: (line: string) => void): Promise<Cluster> {
  const database = await createDatabase();
  log(`database: ${database.description}`);
  const redisPort = await freePort();
  const redisServer = new Managed(
    "redis-server",
    [
      "redis-server",
      "--port",
      String(redisPort),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ],
    {},
  );
  const redisUrl = `redis://127.0.0.1:${redisPort}`;
  const redisUp = async () => {
    const client = new Bun.RedisClient(redisUrl, { autoReconnect: false, connectionTimeout: 500 });
    try {
      return (await client.send("PING", [])) === "PONG";
    } catch {
      return false;
    } finally {
      client.close();
    }
  };
  redisServer.start();
  await redisServer.ready(redisUp);
  const redisRest = startRedisRest({ redisUrl });
  if (!redisRest) throw new Error("the REST bridge did not start");
  log(`redis: redis-server on ${redisUrl}, REST bridge on ${redisRest.url}`);
  const mail = startEmailCapture();
  log(`mail: capture server on ${mail.baseUrl}`);

  const [portA, portB] = [await freePort(), await freePort()];
  const env = appEnvironment({
    databaseUrl: database.url,
    redis: redisRest,
    mailUrl: mail.baseUrl,
    appBaseUrl: `http://127.0.0.1:${portA}`,
  });
  const bun = process.execPath;
  const apiA = new Managed("api-a", [bun, "src/main.ts"], { ...env, PORT: String(portA) }, portA);
  const apiB = new Managed("api-b", [bun, "src/main.ts"], { ...env, PORT: String(portB) }, portB);
  // The worker logs at info: its "job worker running" line is its readiness.
  const worker = new Managed("worker", [bun, "src/job-worker.ts"], { ...env, LOG_LEVEL: "info" });
  const cluster: Cluster = {
    database,
    redisServer,
    redisRest,
    mail,
    apiA,
    apiB,
    worker,
    apis: [apiA, apiB],
    redisUp,
    async stop() {
      for (const process of [apiA, apiB, worker]) await process.stop("SIGTERM", 10_000);
      await redisRest.stop();
      await redisServer.stop("SIGTERM", 5_000);
      await mail.stop();
      await database.drop();
    },
  };
  try {
    // A migrates the fresh database first; B and the worker then find nothing to apply.
    apiA.start();
    await apiA.ready();
    apiB.start();
    worker.start();
    await apiB.ready();
    await workerReady(cluster);
    log(
      `api-a on :${portA} (pid ${apiA.pid}), api-b on :${portB} (pid ${apiB.pid}), worker pid ${worker.pid}`,
    );
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/** The worker says "job worker running" in its log once it polls. */
export async function workerReady(cluster: Cluster): Promise<void> {
  const { worker } = cluster;
  await worker.ready(async () => worker.output().includes("job worker running"));
}
