import { defineConfig } from "drizzle-kit";

// Used only by drizzle-kit (`bun run db:generate`), which diffs src/core/db/schema.ts against the
// snapshots in drizzle/meta. No database connection is needed to generate migrations.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/core/db/schema.ts",
  out: "./drizzle",
  strict: true,
});
