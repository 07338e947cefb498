import { afterAll } from "bun:test";
import { testDatabase } from "./database.ts";

// One database for the whole run (see database.ts); say which, so a run's output tells.
const database = await testDatabase();
process.stderr.write(`[tests] PostgreSQL: ${database.source}\n`);

// Generous: every DROP DATABASE forces an immediate checkpoint, which takes seconds when
// other processes keep the server's disk busy (the default hook timeout is 5 s).
afterAll(async () => {
  await database.teardown();
}, 60_000);
