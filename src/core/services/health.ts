import { migrationStatus } from "../../bun/migrate.ts";
import type { DatabaseHandle } from "../db/client.ts";
import { withTimeout } from "../lib/with-timeout.ts";

export type CheckStatus = "ok" | "failing";

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckStatus>;
}

const CHECK_TIMEOUT_MS = 2_000;

/**
 * Ready = the database answers, every shipped migration is applied, Redis answers when one is
 * configured, and the process is not shutting down.
 */
export async function checkReadiness(deps: {
  database: Pick<DatabaseHandle, "sql">;
  /** Pings the configured Redis; absent when there is none. */
  pingRedis?: () => Promise<boolean>;
  /** True once a shutdown began: load balancers should stop sending traffic. */
  shuttingDown?: () => boolean;
}): Promise<Readiness> {
  const [database, redis] = await Promise.all([
    withTimeout(migrationStatus(deps.database), CHECK_TIMEOUT_MS).then(
      (status) => ({ reachable: true, migrated: status.applied >= status.expected }),
      () => ({ reachable: false, migrated: false }),
    ),
    deps.pingRedis ? withTimeout(deps.pingRedis(), CHECK_TIMEOUT_MS).catch(() => false) : undefined,
  ]);
  const checks: Record<string, CheckStatus> = {
    database: database.reachable ? "ok" : "failing",
    migrations: database.migrated ? "ok" : "failing",
  };
  if (redis !== undefined) checks.redis = redis ? "ok" : "failing";
  if (deps.shuttingDown?.()) checks.shutdown = "failing";
  return { ready: Object.values(checks).every((s) => s === "ok"), checks };
}
