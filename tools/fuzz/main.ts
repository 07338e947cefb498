/**
 * `bun run fuzz`: the fuzz suite (tests/fuzz) for longer than `bun test`'s short pass, or one
 * failing case replayed. Flags become the FUZZ_* variables the suite reads; everything else
 * (TEST_DATABASE_URL, REDIS_URL, TEST_TARGET) passes through as `bun test` takes it.
 *
 *   bun run fuzz                          2 minutes, a new seed (printed)
 *   bun run fuzz --time 60s               time-boxed (ms, s or m)
 *   bun run fuzz --runs 500               500 runs per operation
 *   bun run fuzz --op 'POST /transfers'   one operation
 *   bun run fuzz --op 'POST /transfers' --seed 42 --path '17:3:1'   replay a counterexample
 */
import { parseArgs } from "node:util";

/** A usage error: said in one line, exit 2. */
function usage(message: string): never {
  process.stderr.write(`fuzz: ${message}\n`);
  process.exit(2);
}

function flags() {
  try {
    return parseArgs({
      options: {
        time: { type: "string" },
        runs: { type: "string" },
        seed: { type: "string" },
        path: { type: "string" },
        op: { type: "string" },
      },
      strict: true,
    }).values;
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
}

const values = flags();

function milliseconds(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) return usage(`--time: expected e.g. 500ms, 60s or 2m, got ${text}`);
  const unit = match[2] ?? "s";
  return Math.round(Number(match[1]) * (unit === "ms" ? 1 : unit === "s" ? 1_000 : 60_000));
}

const replaying = values.path !== undefined;
if (replaying && values.seed === undefined) {
  usage("--path replays a case only with the --seed it came from");
}
if (replaying && values.op === undefined) {
  usage("--path is one operation's counterexample: give its --op too");
}
for (const name of ["runs", "seed"] as const) {
  const value = values[name];
  if (value !== undefined && !/^\d+$/.test(value)) {
    usage(`--${name}: expected an integer, got ${value}`);
  }
}
const env: Record<string, string> = { FUZZ_VERBOSE: "1" };
env.FUZZ_SEED = values.seed ?? String(Math.floor(Math.random() * 2 ** 31));
if (values.path !== undefined) env.FUZZ_PATH = values.path;
if (values.op !== undefined) env.FUZZ_OP = values.op;
if (values.runs !== undefined) env.FUZZ_RUNS = values.runs;
if (values.time !== undefined) env.FUZZ_TIME_MS = String(milliseconds(values.time));
else if (values.runs === undefined && !replaying) env.FUZZ_TIME_MS = "120000";

process.stderr.write(
  `[fuzz] ${Object.entries(env)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")} bun test tests/fuzz\n`,
);
const child = Bun.spawn(["bun", "test", "tests/fuzz"], {
  env: { ...process.env, ...env },
  stdio: ["inherit", "inherit", "inherit"],
});
process.exit(await child.exited);
