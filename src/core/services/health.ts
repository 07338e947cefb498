import { migrationStatus } from "../db/migration-status.ts";
import { withTimeout } from "../lib/with-timeout.ts";
import type { ServiceContext } from "./context.ts";

/** `pending`: the database answers but is behind this build's migrations. */
type CheckStatus = "ok" | "failing" | "pending";

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckStatus>;
}

/** What readiness looks at besides the database, as the runtime offers it. */
export interface ReadinessProbes {
  /** Pings the configured Redis; absent when there is none. */
  pingRedis?: () => Promise<boolean>;
  /** True once a shutdown began: load balancers should stop sending traffic. */
  shuttingDown?: () => boolean;
}

const CHECK_TIMEOUT_MS = 2_000;

/**
 * Ready = the database answers, every shipped migration is applied, Redis answers when one is
 * configured, and the process is not shutting down.
 */
export async function checkReadiness(
  ctx: Pick<ServiceContext, "db"> & Partial<Pick<ServiceContext, "databaseOutage">>,
  probes: ReadinessProbes = {},
): Promise<Readiness> {
  const [migrations, redis] = await Promise.all([
    withTimeout(migrationStatus(ctx.db), CHECK_TIMEOUT_MS).then(
      (status) => {
        ctx.databaseOutage?.up();
        return status;
      },
      (error: unknown) => {
        ctx.databaseOutage?.down(error);
        return undefined;
      },
    ),
    probes.pingRedis
      ? withTimeout(probes.pingRedis(), CHECK_TIMEOUT_MS).catch(() => false)
      : undefined,
  ]);
  const checks: Record<string, CheckStatus> = {
    database: migrations ? "ok" : "failing",
    migrations: !migrations
      ? "failing"
      : migrations.applied >= migrations.expected
        ? "ok"
        : "pending",
  };
  if (redis !== undefined) checks.redis = redis ? "ok" : "failing";
  if (probes.shuttingDown?.()) checks.shutdown = "failing";
  return { ready: Object.values(checks).every((s) => s === "ok"), checks };
}
