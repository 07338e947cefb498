/**
 * The job worker as a process of its own (`bun run worker`), for deployments that run it apart
 * from the API (then set WORKER_ENABLED=false on the API). Stops gracefully on SIGTERM / SIGINT:
 * running jobs finish (bounded by SHUTDOWN_TIMEOUT), then the pools close. The compiled
 * binary's `worker` command runs the same function (src/bun/worker-process.ts).
 */
import { loadConfigOrExit } from "./bun/startup.ts";
import { runWorkerProcess } from "./bun/worker-process.ts";

await runWorkerProcess(loadConfigOrExit(process.env));
