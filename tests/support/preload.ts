import { afterAll } from "bun:test";
import { testDatabase } from "./database.ts";

// One database for the whole run (see database.ts); say which, so a run's output tells.
const database = await testDatabase();
process.stderr.write(`[tests] PostgreSQL: ${database.source}\n`);

afterAll(async () => {
  await database.teardown();
});
