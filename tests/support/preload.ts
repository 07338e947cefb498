import { afterAll } from "bun:test";
import { TEST_TARGET, targetApp } from "./app.ts";
import { testDatabase } from "./database.ts";
import { removeEdgeBundle, stopEdges } from "./edge.ts";

// One database for the whole run (see database.ts); say which, so a run's output tells.
const database = await testDatabase();
process.stderr.write(`[tests] PostgreSQL: ${database.source}\n`);

// With TEST_TARGET=edge the HTTP suites reach the Worker in workerd: build and start it here,
// where no hook timeout applies.
if (TEST_TARGET === "edge") {
  await targetApp();
  process.stderr.write("[tests] target: the Worker in workerd (TEST_TARGET=edge)\n");
}

// Generous: every DROP DATABASE forces an immediate checkpoint, which takes seconds when
// other processes keep the server's disk busy (the default hook timeout is 5 s).
afterAll(async () => {
  await stopEdges();
  await removeEdgeBundle().catch(() => {});
  await database.teardown();
}, 60_000);
