import path from "node:path";
import type { Readable } from "node:stream";
import { Miniflare } from "miniflare";
import { withoutSignalHandlersAddedBy } from "../../src/bun/startup.ts";
import { type Bundle, PROJECT_ROOT } from "./bundle.ts";

/**
 * The Worker's bundle served by workerd itself (through Miniflare, which runs under Bun): the
 * runtime Cloudflare runs, with the compatibility date and flags of wrangler.toml, on a local
 * port. Offline: Miniflare fetches nothing from Cloudflare.
 */

export interface LocalWorker {
  /** e.g. http://127.0.0.1:8787 */
  url: string;
  /** Fires the Cron Trigger once; resolves when its `scheduled` handler is done. */
  scheduled(): Promise<void>;
  /** Everything the Worker printed (its log lines), when `captureOutput` was set. */
  output(): string;
  stop(): Promise<void>;
}

export interface LocalWorkerOptions {
  /** The Worker's env: its variables as `wrangler.toml` [vars] and secrets would give them. */
  bindings: Record<string, string>;
  port: number;
  host?: string;
  /** Keep the Worker's output for `output()` instead of printing it. */
  captureOutput?: boolean;
}

interface WranglerSettings {
  compatibility_date: string;
  compatibility_flags: string[];
  triggers: { crons: string[] };
}

async function wranglerSettings(): Promise<WranglerSettings> {
  const text = await Bun.file(path.join(PROJECT_ROOT, "wrangler.toml")).text();
  return Bun.TOML.parse(text) as WranglerSettings;
}

export async function startLocalWorker(
  bundle: Bundle,
  options: LocalWorkerOptions,
): Promise<LocalWorker> {
  const settings = await wranglerSettings();
  let output = "";
  const keep = async (stream: Readable) => {
    for await (const chunk of stream) output += String(chunk);
  };
  // Miniflare would stop workerd and exit on SIGINT / SIGTERM; its owner stops it instead.
  const { worker, url } = await withoutSignalHandlersAddedBy(async () => {
    const worker = new Miniflare({
      modules: bundle.modules.map((module) => ({
        type: module.type,
        path: path.join(bundle.dir, module.path),
        contents: module.contents,
      })),
      modulesRoot: bundle.dir,
      compatibilityDate: settings.compatibility_date,
      compatibilityFlags: settings.compatibility_flags,
      bindings: options.bindings,
      host: options.host ?? "127.0.0.1",
      port: options.port,
      cf: false,
      ...(options.captureOutput
        ? {
            handleRuntimeStdio(stdout: Readable, stderr: Readable) {
              void keep(stdout);
              void keep(stderr);
            },
          }
        : {}),
    });
    return { worker, url: (await worker.ready).toString().replace(/\/$/, "") };
  });
  const cron = settings.triggers.crons[0] ?? "* * * * *";
  return {
    url,
    async scheduled() {
      const result = await (await worker.getWorker()).scheduled({ cron });
      if (result.outcome !== "ok") throw new Error(`scheduled() ended ${result.outcome}`);
    },
    output: () => output,
    stop: () => worker.dispose(),
  };
}
