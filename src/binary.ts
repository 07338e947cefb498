/**
 * The entry of the compiled binary (`bun run build` → dist/simplebank): the whole bank in ONE
 * executable, configured by environment variables only, that needs neither Bun nor
 * node_modules. The migrations and the /docs assets are in the bundle. Every command runs the
 * same function as its `bun run` counterpart:
 *   simplebank [serve]     src/bun/server.ts          (bun run start)
 *   simplebank worker      src/bun/worker-process.ts  (bun run worker)
 *   simplebank <operator>  src/bun/commands.ts        (bun run cli <operator>)
 * The embedded PostgreSQL is a development feature of `bun run dev` that the binary does not
 * carry: without DATABASE_URL it says so and exits 1.
 */
import {
  type CommandSpec,
  OPERATOR_COMMANDS,
  runOperatorCommand,
  usageText,
} from "./bun/commands.ts";
import { runServer } from "./bun/server.ts";
import { loadConfigOrExit } from "./bun/startup.ts";
import { runWorkerProcess } from "./bun/worker-process.ts";
import type { Config } from "./core/config/config.ts";

const PROCESSES: readonly CommandSpec[] = [
  {
    name: "serve",
    summary:
      "serve the API (the default): migrations at start, the job worker unless WORKER_ENABLED=false",
    database: true,
  },
  {
    name: "worker",
    summary: "run the job worker alone (then WORKER_ENABLED=false on the API)",
    database: true,
  },
];

const USAGE = `${usageText("simplebank [command]", [...PROCESSES, ...OPERATOR_COMMANDS])}
Configured by environment variables only (DATABASE_URL, TOKEN_SYMMETRIC_KEY, PORT, ...: see
the README's Configuration); SIGTERM / SIGINT shut down gracefully.`;

/** Exit code 1 with the reason when `command` needs a database and none is configured. */
function refuseWithoutDatabase(command: CommandSpec, config: Config): number | undefined {
  if (!command.database || config.databaseUrl) return undefined;
  process.stderr.write(
    `simplebank ${command.name}: DATABASE_URL is not set, and this binary has no embedded ` +
      "PostgreSQL (a development feature of `bun run dev`, which needs Bun and node_modules). " +
      "Set DATABASE_URL to a postgres:// URL of an existing database.\n",
  );
  return 1;
}

async function main(argv: readonly string[]): Promise<void> {
  const [name = "serve", ...args] = argv;
  const entry = PROCESSES.find((command) => command.name === name);
  if (!entry) {
    process.exit(await runOperatorCommand(argv, USAGE, refuseWithoutDatabase));
  }
  if (args.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const config = loadConfigOrExit(process.env);
  const refused = refuseWithoutDatabase(entry, config);
  if (refused !== undefined) process.exit(refused);
  await (entry.name === "serve" ? runServer(config) : runWorkerProcess(config));
}

void main(process.argv.slice(2));
