/**
 * `bun run console:build`: the web console (console/, Vue + Vite) built into console/dist/ (for
 * hosting it apart) and into console/dist.json, the same files as one JSON object (path → content
 * type and text) that the API's entries import (src/bun/console-assets.ts,
 * src/edge/console-assets.ts), so `bun run start`, the compiled binary and the Worker serve it
 * with no build step. dist.json is committed; tests/console/build.test.ts rebuilds into a
 * temporary folder and fails when it is stale.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export const CONSOLE_ROOT = path.resolve(import.meta.dir, "../../console");
export const EMBEDDED_BUILD = path.join(CONSOLE_ROOT, "dist.json");
const CONFIG = path.join(CONSOLE_ROOT, "vite.config.ts");
const VITE = path.resolve(import.meta.dir, "../../node_modules/vite/bin/vite.js");

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
};

export interface ConsoleFile {
  contentType: string;
  body: string;
}

/** Builds the console with Vite into `outDir`; answers its files by URL path ("/index.html"). */
export async function buildConsole(outDir: string): Promise<Record<string, ConsoleFile>> {
  // A process of its own, in production mode whatever NODE_ENV the caller has (`bun test` runs
  // with NODE_ENV=test, which would build Vue's development code).
  const child = Bun.spawn(
    [process.execPath, VITE, "build", "--config", CONFIG, "--outDir", outDir, "--emptyOutDir"],
    {
      cwd: CONSOLE_ROOT,
      env: { ...process.env, NODE_ENV: "production" },
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  if (code !== 0) throw new Error(`vite build failed (exit ${code}):\n${stdout}${stderr}`);
  const files: Record<string, ConsoleFile> = {};
  const names = (await readdir(outDir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(outDir, path.join(entry.parentPath, entry.name)))
    .sort();
  for (const name of names) {
    const contentType = CONTENT_TYPES[path.extname(name)];
    if (!contentType) throw new Error(`console build: no content type for ${name} (text only)`);
    files[`/${name.split(path.sep).join("/")}`] = {
      contentType,
      body: await readFile(path.join(outDir, name), "utf8"),
    };
  }
  return files;
}

/** The JSON text of dist.json for these files (one file per line, stable order). */
export function embeddedJson(files: Record<string, ConsoleFile>): string {
  const lines = Object.entries(files).map(
    ([name, file]) => `  ${JSON.stringify(name)}: ${JSON.stringify(file)}`,
  );
  return `{\n${lines.join(",\n")}\n}\n`;
}

/** A build in a temporary folder, as dist.json's text (for the freshness test). */
export async function freshEmbeddedJson(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "console-build-"));
  try {
    return embeddedJson(await buildConsole(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const outDir = path.join(CONSOLE_ROOT, "dist");
  const files = await buildConsole(outDir);
  await writeFile(EMBEDDED_BUILD, embeddedJson(files));
  for (const [name, file] of Object.entries(files)) {
    console.log(`  ${name} ${(Buffer.byteLength(file.body) / 1024).toFixed(1)} KiB`);
  }
  console.log(`console built into ${path.relative(process.cwd(), outDir)}/ and console/dist.json`);
}
