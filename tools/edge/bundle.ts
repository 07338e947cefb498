import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "bun";

/**
 * The Worker's bundle, as `wrangler deploy` would upload it: `wrangler deploy --dry-run`
 * (offline: no account, no telemetry) writes it to dist/edge. wrangler runs under Bun itself,
 * so neither Node nor its version matters.
 */

export const PROJECT_ROOT = path.resolve(import.meta.dir, "../..");
const BUNDLE_DIR = path.join(PROJECT_ROOT, "dist/edge");
const WRANGLER = path.join(PROJECT_ROOT, "node_modules/wrangler/bin/wrangler.js");

/** wrangler without a network: no metrics, error reports, banner or update check. */
const OFFLINE_WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  WRANGLER_HIDE_BANNER: "true",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

interface BundleModule {
  /** Relative to the bundle's folder. */
  path: string;
  type: "ESModule" | "Text";
  contents: string;
}

export interface Bundle {
  dir: string;
  /** The entry (edge.js, from src/edge.ts) first. */
  modules: BundleModule[];
  bytes: number;
  gzipBytes: number;
}

/** The bundled entry, named after wrangler.toml's `main` (src/edge.ts). */
const ENTRY = "edge.js";

/** The Text rule of wrangler.toml: these files are bundled as text, not code. */
const TEXT_MODULE = /(swagger-ui-bundle\.js|swagger-ui\.css)$/;

/** Builds the bundle into `dir` (emptied first; default dist/edge). */
export async function buildBundle(dir = BUNDLE_DIR): Promise<Bundle> {
  await rm(dir, { recursive: true, force: true });
  const build = Bun.spawnSync(["bun", "--bun", WRANGLER, "deploy", "--dry-run", "--outdir", dir], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...OFFLINE_WRANGLER_ENV },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0) {
    throw new Error(
      `wrangler could not bundle the Worker:\n${build.stdout.toString()}${build.stderr.toString()}`,
    );
  }
  return readBundle(dir);
}

/** The bundle already in `dir` (default dist/edge). */
async function readBundle(dir = BUNDLE_DIR): Promise<Bundle> {
  const files = (await readdir(dir)).filter((name) => /\.(js|mjs|css)$/.test(name));
  const modules: BundleModule[] = [];
  for (const name of files) {
    const contents = await Bun.file(path.join(dir, name)).text();
    modules.push({ path: name, type: TEXT_MODULE.test(name) ? "Text" : "ESModule", contents });
  }
  modules.sort((a, b) => Number(b.path === ENTRY) - Number(a.path === ENTRY));
  if (modules[0]?.path !== ENTRY) throw new Error(`no ${ENTRY} in ${dir}`);
  const bytes = modules.reduce((sum, m) => sum + Buffer.byteLength(m.contents), 0);
  const gzipBytes = modules.reduce((sum, m) => sum + gzipSync(m.contents).byteLength, 0);
  return { dir, modules, bytes, gzipBytes };
}

export const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
