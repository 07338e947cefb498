import { createConnection, type Socket } from "node:net";
import { RedisConnectionError } from "./errors.ts";
import type { RedisServer } from "./redis-url.ts";
import { encodeCommands, type RedisCommand, RedisErrorReply, type RespValue } from "./resp.ts";
import { RespParser } from "./resp-parser.ts";

export interface RedisConnectionOptions {
  server: RedisServer;
  /** Set with CLIENT SETNAME, so these connections can be told apart in CLIENT LIST. */
  clientName?: string;
  /** Default 5 s. */
  connectTimeoutMs?: number;
  /** Called once when the connection ends, with why (undefined after `close()`). */
  onClose?: (error: Error | undefined) => void;
}

interface Waiter {
  resolve(value: RespValue): void;
  reject(error: Error): void;
}

/** FIFO of the callers awaiting replies: replies come back in the order commands were sent. */
class WaiterQueue {
  private items: Waiter[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(waiter: Waiter): void {
    this.items.push(waiter);
  }

  shift(): Waiter | undefined {
    if (this.head >= this.items.length) return undefined;
    const waiter = this.items[this.head];
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return waiter;
  }

  drain(): Waiter[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}

/**
 * One RESP2 connection. Commands may be pipelined: `send` writes them at once and resolves with
 * their replies in order. An error reply is a `RedisErrorReply` value, not a rejection; the
 * promise rejects (RedisConnectionError) only when the connection is lost before the replies.
 */
export class RedisConnection {
  private readonly parser = new RespParser();
  private readonly waiting = new WaiterQueue();
  /** Set once the connection cannot be used any more. */
  private ended: Error | undefined;
  private readonly closed: Promise<void>;
  private closedByUs = false;

  private constructor(
    private readonly socket: Socket,
    private readonly label: string,
    onClose: ((error: Error | undefined) => void) | undefined,
  ) {
    let lastError: Error | undefined;
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error: Error) => {
      lastError = error;
    });
    // The server closed its side (restart, CLIENT KILL, timeout): unusable from now on.
    socket.on("end", () => {
      this.markEnded(new RedisConnectionError(`Redis at ${label} closed the connection`));
      socket.end();
    });
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        const reason = lastError
          ? new RedisConnectionError(
              `connection to Redis at ${label} failed: ${lastError.message}`,
              {
                cause: lastError,
              },
            )
          : new RedisConnectionError(`Redis at ${label} closed the connection`);
        this.markEnded(reason);
        for (const waiter of this.waiting.drain()) waiter.reject(this.ended ?? reason);
        onClose?.(this.closedByUs ? undefined : (this.ended ?? reason));
        resolve();
      });
    });
  }

  /** Connects, then authenticates, selects the database and names the connection. */
  static async open(options: RedisConnectionOptions): Promise<RedisConnection> {
    const { server } = options;
    const label = `${server.host}:${server.port}`;
    const socket = await connectSocket(server.host, server.port, options.connectTimeoutMs ?? 5_000);
    const connection = new RedisConnection(socket, label, options.onClose);
    const setUp: RedisCommand[] = [];
    if (server.password !== undefined) {
      setUp.push(
        server.username ? ["AUTH", server.username, server.password] : ["AUTH", server.password],
      );
    }
    if (server.db !== 0) setUp.push(["SELECT", String(server.db)]);
    if (options.clientName) setUp.push(["CLIENT", "SETNAME", options.clientName]);
    if (setUp.length > 0) {
      const replies = await connection.send(setUp);
      const refused = replies.find((reply) => reply instanceof RedisErrorReply);
      if (refused instanceof RedisErrorReply) {
        connection.destroy();
        throw new RedisConnectionError(
          `Redis at ${label} refused the connection set-up: ${refused.message}`,
        );
      }
    }
    return connection;
  }

  /** False once the connection was closed by either side or failed. */
  get usable(): boolean {
    return this.ended === undefined;
  }

  /** Replies still awaited. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Writes `commands` in one go; resolves with one reply per command, in order. */
  send(commands: readonly RedisCommand[]): Promise<RespValue[]> {
    if (this.ended) {
      return Promise.reject(
        new RedisConnectionError(this.ended.message, { cause: this.ended, unsent: true }),
      );
    }
    const replies = commands.map(
      () => new Promise<RespValue>((resolve, reject) => this.waiting.push({ resolve, reject })),
    );
    this.socket.write(encodeCommands(commands));
    return Promise.all(replies);
  }

  /** Closes gracefully: replies already on their way are still delivered. */
  async close(): Promise<void> {
    this.closedByUs = true;
    this.markEnded(new RedisConnectionError("the connection was closed"));
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 1_000);
    await this.closed;
    clearTimeout(timer);
  }

  /** Closes at once; callers still waiting are rejected. */
  destroy(error?: Error): void {
    this.closedByUs = error === undefined;
    this.markEnded(error ?? new RedisConnectionError("the connection was closed"));
    this.socket.destroy();
  }

  private markEnded(error: Error): void {
    this.ended ??= error;
  }

  private receive(chunk: Buffer): void {
    let replies: RespValue[];
    try {
      replies = this.parser.feed(chunk);
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    for (const reply of replies) {
      const waiter = this.waiting.shift();
      if (!waiter) {
        this.destroy(new RedisConnectionError(`unexpected reply from Redis at ${this.label}`));
        return;
      }
      waiter.resolve(reply);
    }
  }
}

function connectSocket(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new RedisConnectionError(`cannot connect to Redis at ${host}:${port}: ${error.message}`, {
          cause: error,
          unsent: true,
        }),
      );
    };
    const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", fail);
      // Until RedisConnection attaches its own listener: an unhandled 'error' would throw.
      socket.on("error", () => {});
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 30_000);
      resolve(socket);
    });
  });
}
