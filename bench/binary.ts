/**
 * `bun run bench:binary`: the one binary measured on this machine (never an assertion):
 * - its size (raw, and gzipped as a registry or an image layer would carry it);
 * - start-up: spawn → the first 200 on /readyz, the median of several runs (goal < 100 ms), with
 *   when the log said "database migrations applied", "job worker running" and "serving on";
 *   `bun src/main.ts` (bun run start) measured the same way in the same run as the baseline.
 * The database is up and already migrated (by the binary's own `migrate`), so each start finds
 * nothing to apply, as a restart or a new replica does: BENCH_DATABASE_URL (default the
 * machine's PostgreSQL), a throwaway database made and dropped here. The binary runs from a
 * folder of its own, copied there alone, with only environment variables. Options: --runs N
 * (default 9, after one warm-up run that is not counted). Writes bench/results/binary.md.
 */
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { freePort } from "../tests/support/process.ts";
import { BINARY, buildBinary, mib, PROJECT_ROOT } from "../tools/build/binary.ts";

const { values: args } = parseArgs({ options: { runs: { type: "string", default: "9" } } });
const RUNS = Number(args.runs);

const ENV = {
  NODE_ENV: "test",
  BCRYPT_COST: "4",
  TOKEN_SYMMETRIC_KEY: crypto.randomUUID().replaceAll("-", ""),
  LOG_LEVEL: "info",
};

/** Log lines whose time is reported, by the name the table gives them. */
const MILESTONES = {
  migrations: "database migrations applied",
  worker: "job worker running in this process",
  listening: "serving on http://",
} as const;

const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const dbName = `bench_binary_${process.pid}`;
await admin.unsafe(`create database "${dbName}"`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const databaseUrl = url.toString();
const folder = await mkdtemp(path.join(tmpdir(), "simplebank-bench-binary-"));

const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    min: sorted[0] ?? 0,
    median: sorted[Math.floor(sorted.length / 2)] ?? 0,
    max: sorted.at(-1) ?? 0,
  };
};
const ms = (value: number) => `${value.toFixed(1)} ms`;
const spread = (samples: number[]) => {
  const s = stats(samples);
  return `median ${ms(s.median)} (min ${ms(s.min)}, max ${ms(s.max)})`;
};

interface Start {
  readyMs: number;
  milestones: Partial<Record<keyof typeof MILESTONES, number>>;
}

/**
 * Spawns `argv` with only ENV (+ DATABASE_URL, PORT) and times it to its first 200 on /readyz,
 * then stops it with SIGTERM (it must exit 0). Milestones come from the log's clock (HH:MM:SS.mmm,
 * UTC), so they are whole milliseconds.
 */
async function timeStart(argv: string[], cwd: string): Promise<Start> {
  const port = await freePort();
  const spawnedAt = Date.now();
  const started = performance.now();
  const child = Bun.spawn(argv, {
    cwd,
    env: { ...ENV, DATABASE_URL: databaseUrl, PORT: String(port), HOME: cwd, PATH: cwd },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  let readyMs: number | undefined;
  while (readyMs === undefined) {
    if (child.exitCode !== null) throw new Error(`${argv[0]} exited:\n${(await output).join("")}`);
    if (performance.now() - started > 30_000) throw new Error(`${argv[0]} never became ready`);
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
      () => 0,
    );
    if (status === 200) readyMs = performance.now() - started;
    else await Bun.sleep(1);
  }
  child.kill("SIGTERM");
  const code = await child.exited;
  const log = (await output).join("");
  if (code !== 0) throw new Error(`${argv[0]} exited ${code} after SIGTERM:\n${log}`);
  const dayStart = spawnedAt - (spawnedAt % 86_400_000);
  const milestones: Start["milestones"] = {};
  for (const [name, message] of Object.entries(MILESTONES) as [keyof typeof MILESTONES, string][]) {
    const line = log.split("\n").find((l) => l.includes(message));
    const clock = /^(\d\d):(\d\d):(\d\d)\.(\d\d\d)/.exec(line ?? "");
    if (!clock) continue;
    const [h, m, s, frac] = clock.slice(1).map(Number) as [number, number, number, number];
    milestones[name] = dayStart + ((h * 60 + m) * 60 + s) * 1000 + frac - spawnedAt;
  }
  return { readyMs, milestones };
}

async function measure(name: string, argv: string[], cwd: string) {
  await timeStart(argv, cwd); // warm-up: page cache, the database's own caches
  const starts: Start[] = [];
  for (let i = 0; i < RUNS; i++) starts.push(await timeStart(argv, cwd));
  const of = (key: keyof typeof MILESTONES) =>
    starts.map((s) => s.milestones[key]).filter((v): v is number => v !== undefined);
  console.log(`${name}: ${starts.map((s) => s.readyMs.toFixed(0)).join(", ")} ms`);
  return {
    name,
    ready: starts.map((s) => s.readyMs),
    migrations: of("migrations"),
    worker: of("worker"),
    listening: of("listening"),
  };
}

try {
  const built = await buildBinary(BINARY);
  const gzipped = Bun.gzipSync(new Uint8Array(await readFile(built.path))).byteLength;
  console.log(
    `${path.relative(PROJECT_ROOT, built.path)}: ${mib(built.bytes)}, ${mib(gzipped)} gzipped`,
  );
  const alone = path.join(folder, "simplebank");
  await copyFile(built.path, alone);

  // The database up and migrated, by the binary itself.
  const migrate = Bun.spawnSync([alone, "migrate"], {
    cwd: folder,
    env: { ...ENV, DATABASE_URL: databaseUrl, HOME: folder, PATH: folder },
  });
  if (migrate.exitCode !== 0)
    throw new Error(`migrate failed:\n${migrate.stdout}${migrate.stderr}`);

  const binary = await measure("dist/simplebank", [alone], folder);
  const source = await measure(
    "bun src/main.ts",
    [process.execPath, path.join(PROJECT_ROOT, "src/main.ts")],
    PROJECT_ROOT,
  );
  const baseline = stats(source.ready).median;
  const row = (r: typeof binary) =>
    `| ${r.name} | ${spread(r.ready)} | ${ms(stats(r.migrations).median)} | ${ms(stats(r.worker).median)} | ${ms(stats(r.listening).median)} | ${(stats(r.ready).median / baseline).toFixed(2)} |`;
  const lines = [
    "# The one binary (bun run bench:binary)",
    "",
    `Measured ${new Date().toISOString().slice(0, 10)} on ${navigator.hardwareConcurrency} cores, Bun ${Bun.version}, PostgreSQL at ${url.host} (up and migrated); ${RUNS} starts each after one warm-up, the worker running inside (WORKER_ENABLED's default), no Redis.`,
    "",
    "| measure | value | goal |",
    "|---|---|---|",
    `| dist/simplebank, one file | ${mib(built.bytes)} (${mib(gzipped)} gzipped) | |`,
    `| spawn → first 200 on /readyz | ${spread(binary.ready)} | < 100 ms (the median is ${(stats(binary.ready).median / 100).toFixed(1)}× it) |`,
    "",
    "Where the time goes (medians; the log's milliseconds after the spawn), with `bun run start` from the sources as the baseline:",
    "",
    "| process | spawn → 200 on /readyz | migrations applied | job worker running | serving | ratio to bun src/main.ts |",
    "|---|---|---|---|---|---|",
    row(binary),
    row(source),
  ];
  const table = `${lines.join("\n")}\n`;
  console.log(`\n${table}`);
  const results = path.join(PROJECT_ROOT, "bench/results/binary.md");
  await Bun.write(results, table);
  // Aligned as the linter wants the committed file (biome formats Markdown tables).
  Bun.spawnSync([process.execPath, "x", "biome", "format", "--write", results], {
    cwd: PROJECT_ROOT,
    stdout: "ignore",
  });
} finally {
  await rm(folder, { recursive: true, force: true });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
}
