/**
 * The Cloudflare Worker: the same bank as the Bun server, on the edge. `fetch` serves the REST
 * API (and /docs, /openapi.json); `scheduled` (the Cron Trigger, wrangler.toml) sends the due
 * jobs of the queue in Postgres. Built by `bun run build:edge`, served locally by `bun run edge`.
 */
import type { EdgeEnv } from "./edge/environment.ts";
import { bankFor } from "./edge/isolate.ts";

export default {
  fetch(request, env) {
    return bankFor(env).fetch(request);
  },
  scheduled(_controller, env, ctx) {
    ctx.waitUntil(bankFor(env).scheduled());
  },
} satisfies ExportedHandler<EdgeEnv>;
