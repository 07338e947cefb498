/**
 * Operator commands: `bun run cli <command>`.
 *   migrate                   apply pending migrations and install the job queue's schema (the
 *                             Bun server also does both at start; the edge Worker never does)
 *   prune-idempotency-keys    delete Idempotency-Keys older than 24 h
 *   grant-role <user> <role>  make a user a banker (or a depositor again): the only way
 */

import { connectDatabase } from "./bun/database.ts";
import { loadConfigOrExit } from "./bun/startup.ts";
import { systemClock } from "./core/domain/clock.ts";
import { DomainError } from "./core/domain/errors.ts";
import { ROLES, type Role } from "./core/domain/types.ts";
import { startJobQueue } from "./core/jobs/boss.ts";
import { loggerFor } from "./core/lib/logger.ts";
import { pruneIdempotencyKeys } from "./core/services/idempotency.ts";
import { grantRole } from "./core/services/users.ts";
import { buildSharedStores } from "./core/wiring/services.ts";

const USAGE = `usage: bun run cli <command>
  migrate                   apply pending database migrations, install the job queue
  prune-idempotency-keys    delete Idempotency-Keys older than 24 h
  grant-role <user> <role>  give a user a role (${ROLES.join(" | ")}); takes effect at once`;

const [command, ...args] = process.argv.slice(2);
/** Next to a running `bun run dev`, commands use its embedded database instead of failing. */
const CLI_DATABASE = { applicationName: "cli", attachToRunning: true };
const config = loadConfigOrExit(process.env);
const logger = loggerFor(config);

async function run(): Promise<number> {
  switch (command) {
    case "migrate": {
      const database = await connectDatabase(config, logger, CLI_DATABASE);
      try {
        await (await startJobQueue({ url: database.url, logger })).stop();
        logger.info("job queue schema and queues ready");
      } finally {
        await database.close();
      }
      return 0;
    }
    case "prune-idempotency-keys": {
      const database = await connectDatabase(config, logger, CLI_DATABASE);
      try {
        const deleted = await pruneIdempotencyKeys({ db: database.handle.db, clock: systemClock });
        logger.info(`deleted ${deleted} expired idempotency keys`);
      } finally {
        await database.close();
      }
      return 0;
    }
    case "grant-role": {
      const [username, role] = args;
      if (!username || !role || args.length !== 2) {
        process.stderr.write(`${USAGE}\n`);
        return 2;
      }
      const database = await connectDatabase(config, logger, CLI_DATABASE);
      try {
        const { revocations } = buildSharedStores(config, logger);
        const user = await grantRole(
          { db: database.handle.db, revocations },
          username,
          role as Role,
        );
        process.stdout.write(`${user.username} is now a ${user.role}\n`);
        return 0;
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        process.stderr.write(`grant-role: ${error.message}\n`);
        return 1;
      } finally {
        await database.close();
      }
    }
    default:
      process.stderr.write(`${command ? `unknown command: ${command}\n` : ""}${USAGE}\n`);
      return 2;
  }
}

process.exit(
  await run().catch((error: unknown) => {
    logger.error("command failed", { error });
    return 1;
  }),
);
