/**
 * Operator commands: `bun run cli <command>`.
 *   migrate                   apply pending migrations (also done by the server at start)
 *   prune-idempotency-keys    delete Idempotency-Keys older than 24 h
 */
import { connectDatabase } from "./runtime/database.ts";
import { loadConfigOrExit, loggerFor } from "./runtime/startup.ts";
import { systemClock } from "./services/context.ts";
import { pruneIdempotencyKeys } from "./services/idempotency.ts";

const USAGE = `usage: bun run cli <command>
  migrate                   apply pending database migrations
  prune-idempotency-keys    delete Idempotency-Keys older than 24 h`;

const [command] = process.argv.slice(2);
const config = loadConfigOrExit(process.env);
const logger = loggerFor(config);

async function run(): Promise<number> {
  switch (command) {
    case "migrate": {
      const database = await connectDatabase(config, logger, { applicationName: "cli" });
      await database.close();
      return 0;
    }
    case "prune-idempotency-keys": {
      const database = await connectDatabase(config, logger, { applicationName: "cli" });
      try {
        const deleted = await pruneIdempotencyKeys({ db: database.handle.db, clock: systemClock });
        logger.info(`deleted ${deleted} expired idempotency keys`);
      } finally {
        await database.close();
      }
      return 0;
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
