/**
 * Operator commands: `bun run cli <command>` (src/bun/commands.ts; the compiled binary offers
 * the same ones as subcommands).
 *   migrate                   apply pending migrations and install the job queue's schema (the
 *                             Bun server also does both at start; the edge Worker never does)
 *   prune-idempotency-keys    delete Idempotency-Keys older than 24 h
 *   grant-role <user> <role>  make a user a banker (or a depositor again): the only way
 *   healthcheck               GET /readyz on 127.0.0.1:$PORT: exit 0 on 200, 1 otherwise
 */
import { OPERATOR_COMMANDS, runOperatorCommand, usageText } from "./bun/commands.ts";

const USAGE = usageText("bun run cli <command>", OPERATOR_COMMANDS);

process.exit(await runOperatorCommand(process.argv.slice(2), USAGE));
