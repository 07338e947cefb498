/**
 * The Bun server (`bun run start`) and, under `bun --watch`, the development server (`bun run
 * dev`): config → database (DATABASE_URL or embedded) → migrations → job queue (and its worker,
 * unless WORKER_ENABLED=false) → HTTP. SIGTERM / SIGINT shut down gracefully. The compiled
 * binary (src/binary.ts) serves through the same function (src/bun/server.ts).
 */
import { runServer } from "./bun/server.ts";
import { loadConfigOrExit } from "./bun/startup.ts";

await runServer(loadConfigOrExit(process.env));
