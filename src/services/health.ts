import type { DatabaseHandle } from "../db/client.ts";
import { migrationStatus } from "../db/migrate.ts";

export type CheckStatus = "ok" | "failing";

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckStatus>;
}

const CHECK_TIMEOUT_MS = 2_000;

/** Ready = the database answers and every shipped migration is applied. */
export async function checkReadiness(deps: {
  database: Pick<DatabaseHandle, "sql">;
}): Promise<Readiness> {
  const database = await withTimeout(migrationStatus(deps.database), CHECK_TIMEOUT_MS).then(
    (status) => ({ reachable: true, migrated: status.applied >= status.expected }),
    () => ({ reachable: false, migrated: false }),
  );
  const checks: Record<string, CheckStatus> = {
    database: database.reachable ? "ok" : "failing",
    migrations: database.migrated ? "ok" : "failing",
  };
  return { ready: Object.values(checks).every((s) => s === "ok"), checks };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error("timed out")), ms)),
  ]);
}
