import type { Logger } from "../../src/core/lib/logger.ts";
import { RedisConnectionError } from "./errors.ts";
import { RedisConnection } from "./redis-connection.ts";
import { describeRedisServer, type RedisServer } from "./redis-url.ts";
import { type RedisCommand, RedisErrorReply, type RespValue } from "./resp.ts";

/** What MULTI … EXEC came to. */
export type TransactionOutcome =
  /** EXEC ran every command: one reply each (an error reply is one of them). */
  | { status: "executed"; replies: RespValue[] }
  /** A command was refused while queuing, so EXEC discarded them all (EXECABORT). */
  | { status: "discarded"; error: RedisErrorReply; failedIndex: number | undefined }
  /** EXEC answered nil: a WATCHed key changed. */
  | { status: "aborted" };

/** What the REST handler needs from Redis; `RedisPool` is the real one. */
export interface RedisRunner {
  /**
   * Sends `commands` in order and resolves with one reply per command. `dedicated`: on a
   * connection nobody else uses meanwhile (for blocking commands such as BLPOP).
   */
  pipeline(
    commands: readonly RedisCommand[],
    options?: { dedicated?: boolean },
  ): Promise<RespValue[]>;
  /** MULTI, the commands, EXEC on one connection of its own. */
  transaction(commands: readonly RedisCommand[]): Promise<TransactionOutcome>;
}

export interface RedisPoolOptions {
  server: RedisServer;
  /** Connections shared (pipelined) by concurrent requests. Default 4. */
  size?: number;
  /** Connections lent to one transaction or blocking command at a time. Default 16. */
  dedicatedSize?: number;
  /** CLIENT SETNAME for every connection. Default "redis-rest". */
  clientName?: string;
  connectTimeoutMs?: number;
  logger: Logger;
}

/**
 * A small pool of RESP connections, opened lazily. Single commands and pipelines share a few
 * multiplexed connections (replies come back in order on each); MULTI/EXEC and blocking
 * commands borrow a dedicated connection. A connection the server closed (restart, CLIENT
 * KILL) is dropped and the next request opens a fresh one.
 */
export class RedisPool implements RedisRunner {
  private readonly size: number;
  private readonly dedicatedSize: number;
  private readonly logger: Logger;
  private shared: RedisConnection[] = [];
  private opening = 0;
  private firstOpen: Promise<RedisConnection> | undefined;
  private idleDedicated: RedisConnection[] = [];
  private dedicatedInUse = 0;
  private readonly dedicatedQueue: (() => void)[] = [];
  private readonly borrowed = new Set<RedisConnection>();
  private closed = false;

  constructor(private readonly options: RedisPoolOptions) {
    this.size = Math.max(1, options.size ?? 4);
    this.dedicatedSize = Math.max(1, options.dedicatedSize ?? 16);
    this.logger = options.logger;
  }

  /** `redis://host:port/db` with the password masked. */
  get description(): string {
    return describeRedisServer(this.options.server);
  }

  /** One command; an error reply is returned as a `RedisErrorReply` value. */
  async command(command: RedisCommand): Promise<RespValue> {
    const [reply] = await this.pipeline([command]);
    return reply ?? null;
  }

  async pipeline(
    commands: readonly RedisCommand[],
    options: { dedicated?: boolean } = {},
  ): Promise<RespValue[]> {
    if (commands.length === 0) return [];
    if (options.dedicated) {
      return this.withDedicatedConnection((connection) => connection.send(commands));
    }
    try {
      return await (await this.sharedConnection()).send(commands);
    } catch (error) {
      // Found dead before anything was written: safe to try once more on a fresh connection.
      if (error instanceof RedisConnectionError && error.unsent && !this.closed) {
        return (await this.sharedConnection()).send(commands);
      }
      throw error;
    }
  }

  async transaction(commands: readonly RedisCommand[]): Promise<TransactionOutcome> {
    return this.withDedicatedConnection(async (connection) => {
      const replies = await connection.send([["MULTI"], ...commands, ["EXEC"]]);
      const exec = replies.at(-1);
      if (Array.isArray(exec)) return { status: "executed", replies: exec };
      if (exec === null) return { status: "aborted" };
      const queued = replies.slice(1, -1);
      const failedIndex = queued.findIndex((reply) => reply instanceof RedisErrorReply);
      const firstError = queued[failedIndex];
      return {
        status: "discarded",
        error: firstError instanceof RedisErrorReply ? firstError : toErrorReply(exec),
        failedIndex: failedIndex === -1 ? undefined : failedIndex,
      };
    });
  }

  /**
   * Lends a connection that nobody else uses until `use` settles. At most `dedicatedSize` at
   * a time; further callers wait their turn.
   */
  async withDedicatedConnection<T>(use: (connection: RedisConnection) => Promise<T>): Promise<T> {
    await this.acquireDedicatedSlot();
    let connection: RedisConnection | undefined;
    try {
      connection = this.takeIdleDedicated() ?? (await this.open());
      this.borrowed.add(connection);
      const result = await use(connection);
      this.borrowed.delete(connection);
      if (!this.closed && connection.usable && connection.pending === 0) {
        this.idleDedicated.push(connection);
      } else {
        connection.destroy();
      }
      return result;
    } catch (error) {
      if (connection) {
        this.borrowed.delete(connection);
        connection.destroy();
      }
      throw error;
    } finally {
      this.releaseDedicatedSlot();
    }
  }

  /** Closes every connection; later calls fail with RedisConnectionError. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.shared, ...this.idleDedicated];
    this.shared = [];
    this.idleDedicated = [];
    for (const connection of this.borrowed) connection.destroy();
    await Promise.all(all.map((connection) => connection.close()));
    for (const wake of this.dedicatedQueue.splice(0)) wake();
  }

  private async sharedConnection(): Promise<RedisConnection> {
    if (this.closed) throw new RedisConnectionError("the Redis pool is closed", { unsent: true });
    this.shared = this.shared.filter((connection) => connection.usable);
    let best: RedisConnection | undefined;
    for (const connection of this.shared) {
      if (!best || connection.pending < best.pending) best = connection;
    }
    if (best) {
      if (best.pending === 0 || this.shared.length + this.opening >= this.size) return best;
      // All busy and room for one more: a fresh connection beats queuing behind a long
      // pipeline (local connects take well under a millisecond).
      try {
        return await this.openShared();
      } catch (error) {
        if (best.usable) return best;
        throw error;
      }
    }
    // None alive (first request, or Redis restarted): concurrent callers share one attempt.
    this.firstOpen ??= this.openShared().finally(() => {
      this.firstOpen = undefined;
    });
    return this.firstOpen;
  }

  private async openShared(): Promise<RedisConnection> {
    this.opening += 1;
    try {
      const connection = await this.open();
      if (this.closed) {
        connection.destroy();
        throw new RedisConnectionError("the Redis pool is closed", { unsent: true });
      }
      this.shared.push(connection);
      return connection;
    } finally {
      this.opening -= 1;
    }
  }

  private open(): Promise<RedisConnection> {
    if (this.closed) {
      return Promise.reject(new RedisConnectionError("the Redis pool is closed", { unsent: true }));
    }
    return RedisConnection.open({
      server: this.options.server,
      clientName: this.options.clientName ?? "redis-rest",
      connectTimeoutMs: this.options.connectTimeoutMs,
      onClose: (error) => {
        if (error && !this.closed) {
          this.logger.warn("lost a Redis connection; the next request opens a new one", {
            redis: this.description,
            reason: error.message,
          });
        }
      },
    });
  }

  private takeIdleDedicated(): RedisConnection | undefined {
    for (;;) {
      const connection = this.idleDedicated.pop();
      if (!connection || connection.usable) return connection;
    }
  }

  private acquireDedicatedSlot(): Promise<void> {
    if (this.closed) {
      return Promise.reject(new RedisConnectionError("the Redis pool is closed", { unsent: true }));
    }
    if (this.dedicatedInUse < this.dedicatedSize) {
      this.dedicatedInUse += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.dedicatedQueue.push(() => {
        if (this.closed) {
          reject(new RedisConnectionError("the Redis pool is closed", { unsent: true }));
          return;
        }
        this.dedicatedInUse += 1;
        resolve();
      });
    });
  }

  private releaseDedicatedSlot(): void {
    this.dedicatedInUse -= 1;
    this.dedicatedQueue.shift()?.();
  }
}

function toErrorReply(reply: RespValue | undefined): RedisErrorReply {
  if (reply instanceof RedisErrorReply) return reply;
  return new RedisErrorReply("EXECABORT Transaction discarded");
}
