import { createPasswordHasher } from "../auth/password.ts";
import { createTokenMaker } from "../auth/tokens.ts";
import type { Config } from "../config/config.ts";
import type { Database } from "../db/client.ts";
import type { Logger } from "../lib/logger.ts";
import { type AuthDeps, type Clock, systemClock } from "../services/context.ts";
import { type JobQueue, noJobs } from "../services/jobs.ts";

/** The services' dependencies, built once at start-up from the configuration. */
export function buildServiceDeps(
  config: Config,
  parts: { db: Database; logger: Logger; jobs?: JobQueue; clock?: Clock },
): AuthDeps {
  const clock = parts.clock ?? systemClock;
  return {
    db: parts.db,
    logger: parts.logger,
    clock,
    tokens: createTokenMaker({
      kind: config.tokenType,
      symmetricKey: config.tokenSymmetricKey,
      clock,
    }),
    passwords: createPasswordHasher({ cost: config.bcryptCost }),
    accessTokenDuration: config.accessTokenDuration,
    refreshTokenDuration: config.refreshTokenDuration,
    jobs: parts.jobs ?? noJobs,
  };
}
