import { createServer, connect as netConnect, type Socket } from "node:net";

/**
 * A TCP proxy in front of PostgreSQL that keeps at most `maxConnections` connections to it
 * open and queues the clients beyond that until one closes: the local stand-in for Hyperdrive.
 * A Worker opens a connection per request; in production Hyperdrive pools them near the
 * database, here this gate keeps a burst of concurrent requests within the server's
 * max_connections instead of failing them with "too many clients".
 */
export interface ConnectionGate {
  /** `url` with its host and port replaced by the gate's. */
  url: string;
  /** Most connections ever open to the database at once. */
  peak(): number;
  stop(): Promise<void>;
}

export async function startConnectionGate(
  databaseUrl: string,
  maxConnections: number,
): Promise<ConnectionGate> {
  const target = new URL(databaseUrl);
  const waiting: Socket[] = [];
  const sockets = new Set<Socket>();
  let open = 0;
  let peak = 0;

  const admit = (client: Socket) => {
    open += 1;
    peak = Math.max(peak, open);
    const upstream = netConnect({ host: target.hostname, port: Number(target.port || 5432) });
    sockets.add(upstream);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      open -= 1;
      client.destroy();
      upstream.destroy();
      sockets.delete(upstream);
      const next = waiting.shift();
      if (next) admit(next);
    };
    client.pipe(upstream).pipe(client);
    client.resume();
    for (const socket of [client, upstream]) {
      socket.on("error", release);
      socket.on("close", release);
    }
  };

  const server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on("close", () => {
      sockets.delete(client);
      const index = waiting.indexOf(client);
      if (index >= 0) waiting.splice(index, 1);
    });
    client.on("error", () => client.destroy());
    if (open < maxConnections) admit(client);
    else waiting.push(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = new URL(databaseUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    peak: () => peak,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
