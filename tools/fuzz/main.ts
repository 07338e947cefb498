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

const { values } = parseArgs({
  options: {
    time: { type: "string" },
    runs: { type: "string" },
    seed: { type: "string" },
    path: { type: "string" },
    op: { type: "string" },
  },
  strict: true,
});

function milliseconds(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new Error(`--time: expected e.g. 500ms, 60s or 2m, got ${text}`);
  const unit = match[2] ?? "s";
  return Math.round(Number(match[1]) * (unit === "ms" ? 1 : unit === "s" ? 1_000 : 60_000));
}

const replaying = values.path !== undefined;
const env: Record<string, string> = { FUZZ_VERBOSE: "1" };
if (values.seed !== undefined) env.FUZZ_SEED = values.seed;
else if (replaying) throw new Error("--path replays a case only with the --seed it came from");
else env.FUZZ_SEED = String(Math.floor(Math.random() * 2 ** 31));
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
