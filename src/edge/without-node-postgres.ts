/**
 * Stands in for the `pg` package in the Worker's bundle (wrangler.toml [alias]). pg-boss imports
 * it for a pool of its own, which the edge never opens: there pg-boss always runs over the
 * invocation's own postgres.js client (core/jobs/boss.ts attachJobQueue). Leaving node-postgres
 * out keeps the bundle under 1 MiB gzipped; anything that did reach for it fails loudly.
 */
class Unavailable {
  constructor() {
    throw new Error("node-postgres is not bundled into the Worker: pg-boss must be given a db");
  }
}

export default { Pool: Unavailable, Client: Unavailable };
