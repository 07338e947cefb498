import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { freePort } from "./process.ts";

/**
 * A TCP relay in front of the real database: `close()` is the database vanishing (the port
 * closed, every connection dropped), `open()` brings it back on the same port.
 */
export async function databaseRelay(databaseUrl: string) {
  const target = new URL(databaseUrl);
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    open(): Promise<void> {
      const listening = createServer((client) => {
        const upstream = netConnect(Number(target.port || 5432), target.hostname);
        for (const [from, to] of [
          [client, upstream],
          [upstream, client],
        ] as const) {
          sockets.add(from);
          from.pipe(to);
          from.on("error", () => to.destroy());
          from.on("close", () => {
            sockets.delete(from);
            to.destroy();
          });
        }
      });
      server = listening;
      return new Promise((resolve) => listening.listen(port, "127.0.0.1", resolve));
    },
    close(): Promise<void> {
      const closing = server;
      server = undefined;
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => (closing ? closing.close(() => resolve()) : resolve()));
    },
  };
}
