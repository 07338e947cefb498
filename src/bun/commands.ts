/**
 * The operator commands, one copy each, run by `bun run cli <command>` (src/cli.ts) and by the
 * compiled binary's subcommands (src/binary.ts):
 *   migrate                   apply pending migrations and install the job queue's schema (the
 *                             server also does both at start; the edge Worker never does)
 *   prune-idempotency-keys    delete Idempotency-Keys older than 24 h
 *   grant-role <user> <role>  make a user a banker (or a depositor again): the only way
 *   healthcheck               GET /readyz on this machine's PORT (images without curl)
 */
import type { Config } from "../core/config/config.ts";
import { systemClock } from "../core/domain/clock.ts";
import { DomainError } from "../core/domain/errors.ts";
import { ROLES, type Role } from "../core/domain/types.ts";
import { startJobQueue } from "../core/jobs/boss.ts";
import { type Logger, loggerFor } from "../core/lib/logger.ts";
import { pruneIdempotencyKeys } from "../core/services/idempotency.ts";
import { grantRole } from "../core/services/users.ts";
import { buildSharedStores } from "../core/wiring/services.ts";
import { connectDatabase } from "./database.ts";
import { DatabaseStartError } from "./database-start.ts";
import { loadConfigOrExit } from "./startup.ts";

export interface CommandSpec {
  name: string;
  /** Its arguments as the usage shows them, e.g. ["<user>", "<role>"]: exactly these many. */
  args?: readonly string[];
  summary: string;
  /** Whether it needs the database (DATABASE_URL, or the embedded one where there is one). */
  database: boolean;
}

interface OperatorCommand extends CommandSpec {
  run(config: Config, logger: Logger, args: readonly string[]): Promise<number>;
}

/** Next to a running `bun run dev`, commands use its embedded database instead of failing. */
const CLI_DATABASE = { applicationName: "cli", attachToRunning: true };

/** How long `healthcheck` waits for /readyz (whose own checks give up after 2 s). */
const HEALTHCHECK_TIMEOUT_MS = 3_000;

const COMMANDS: readonly OperatorCommand[] = [
  {
    name: "migrate",
    summary: "apply pending database migrations, install the job queue",
    database: true,
    async run(config, logger) {
      const database = await connectDatabase(config, logger, CLI_DATABASE);
      try {
        await (await startJobQueue({ url: database.url, logger })).stop();
        logger.info("job queue schema and queues ready");
      } finally {
        await database.close();
      }
      return 0;
    },
  },
  {
    name: "prune-idempotency-keys",
    summary: "delete Idempotency-Keys older than 24 h",
    database: true,
    async run(config, logger) {
      const database = await connectDatabase(config, logger, CLI_DATABASE);
      try {
        const deleted = await pruneIdempotencyKeys({ db: database.handle.db, clock: systemClock });
        logger.info(`deleted ${deleted} expired idempotency keys`);
      } finally {
        await database.close();
      }
      return 0;
    },
  },
  {
    name: "grant-role",
    args: ["<user>", "<role>"],
    summary: `give a user a role (${ROLES.join(" | ")}); takes effect at once`,
    database: true,
    async run(config, logger, [username = "", role = ""]) {
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
    },
  },
  {
    name: "healthcheck",
    summary: "GET http://127.0.0.1:$PORT/readyz: exit 0 on 200, 1 otherwise",
    database: false,
    async run(config) {
      const url = `http://127.0.0.1:${config.port}/readyz`;
      try {
        const response = await fetch(url, {
          signal: AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS),
          redirect: "manual",
        });
        const body = await response.text();
        if (response.status === 200) return 0;
        process.stderr.write(`healthcheck: ${url} answered ${response.status} ${body}\n`);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        process.stderr.write(`healthcheck: ${url} did not answer: ${reason}\n`);
      }
      return 1;
    },
  },
];

/** The operator commands' names, arguments and summaries, for a usage text. */
export const OPERATOR_COMMANDS: readonly CommandSpec[] = COMMANDS;

/** `usage: <synopsis>` and one aligned line per command. */
export function usageText(synopsis: string, commands: readonly CommandSpec[]): string {
  const heads = commands.map((c) => [c.name, ...(c.args ?? [])].join(" "));
  const width = Math.max(...heads.map((head) => head.length)) + 2;
  const lines = commands.map((c, i) => `  ${(heads[i] ?? "").padEnd(width)}${c.summary}`);
  return [`usage: ${synopsis}`, ...lines].join("\n");
}

/**
 * Runs one operator command (`argv` = its name, then its arguments) and resolves to the exit
 * code: 0 with `usage` on stdout for `--help`; 2 with `usage` on stderr for an unknown command
 * or the wrong number of arguments (before the configuration is read); 1 when it failed. `beforeRun` may refuse a command once
 * the configuration is read (the binary: no DATABASE_URL) by returning an exit code.
 */
export async function runOperatorCommand(
  argv: readonly string[],
  usage: string,
  beforeRun?: (command: CommandSpec, config: Config) => number | undefined,
): Promise<number> {
  const [name, ...args] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`${name ? `unknown command: ${name}\n` : ""}${usage}\n`);
    return 2;
  }
  if (args.length !== (command.args?.length ?? 0)) {
    const expected = command.args?.join(" ") || "no arguments";
    process.stderr.write(`${command.name} takes ${expected}\n${usage}\n`);
    return 2;
  }
  const config = loadConfigOrExit(process.env);
  const refused = beforeRun?.(command, config);
  if (refused !== undefined) return refused;
  const logger = loggerFor(config);
  try {
    return await command.run(config, logger, args);
  } catch (error) {
    if (error instanceof DatabaseStartError) logger.error(`${command.name}: ${error.message}`);
    else logger.error("command failed", { error });
    return 1;
  }
}
