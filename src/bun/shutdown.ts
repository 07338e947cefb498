import type { Server } from "bun";
import type { Logger } from "../core/lib/logger.ts";

/**
 * Stops accepting connections and waits for the requests in flight to finish; after
 * `timeoutMs` the ones still running are cut. Resolves to false when some were cut.
 */
export async function stopHttpServer(
  server: Server<undefined>,
  timeoutMs: number,
  logger: Logger,
): Promise<boolean> {
  const pending = server.pendingRequests;
  if (pending > 0) logger.info("waiting for requests in flight", { pending });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const drained = server.stop().then(() => "drained" as const);
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const outcome = await Promise.race([drained, timedOut]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    logger.warn("shutdown timeout: cutting the requests still in flight", {
      pending: server.pendingRequests,
    });
    await server.stop(true);
  }
  return outcome === "drained";
}
