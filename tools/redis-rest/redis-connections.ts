import Redis, { ReplyError } from "ioredis";
import type { Logger } from "../../src/core/lib/logger.ts";
import type { RedisArgument, RedisCommand } from "./commands.ts";
import { describeRedisServer, type RedisServer } from "./redis-url.ts";
import type { RedisReply } from "./reply-json.ts";

/** What MULTI … EXEC came to. */
export type TransactionOutcome =
  /** EXEC ran every command: one reply each (an error reply is one of them). */
  | { status: "executed"; replies: RedisReply[] }
  /** A command was refused while queuing, so EXEC discarded them all (EXECABORT). */
  | { status: "discarded"; error: Error; failedIndex: number | undefined }
  /** EXEC answered nil: a WATCHed key changed. */
  | { status: "aborted" };

/** What the REST handler needs from Redis; `RedisConnections` is the real one. */
export interface RedisRunner {
  /**
   * Sends `commands` in order and resolves with one reply per command, an error reply being
   * an `Error` value. `dedicated`: on a connection nobody else uses meanwhile (for blocking
   * commands such as BLPOP).
   */
  pipeline(
    commands: readonly RedisCommand[],
    options?: { dedicated?: boolean },
  ): Promise<RedisReply[]>;
  /** MULTI, the commands, EXEC, with nothing else in between. */
  transaction(commands: readonly RedisCommand[]): Promise<TransactionOutcome>;
}

/** Redis could not be reached, refused the connection set-up, or the connection was lost. */
export class RedisUnavailableError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "RedisUnavailableError";
  }
}

export interface RedisConnectionsOptions {
  server: RedisServer;
  /** CLIENT SETNAME of every connection. Default "redis-rest". */
  clientName?: string;
  /** How long a request waits for a connection to be ready. Default 5 s. */
  connectTimeoutMs?: number;
  logger: Logger;
}

const textDecoder = new TextDecoder();

/**
 * The endpoint's connections to Redis, through ioredis (RESP, pipelining, reconnecting): one
 * shared by single commands and pipelines, one shared by transactions (each MULTI … EXEC is
 * written in one go, so they cannot interleave), and a fresh one for each request with a
 * blocking command, closed afterwards. Connections open on first use and carry `clientName`.
 *
 * Commands are only written on a ready connection, never queued for later and never resent:
 * while Redis is unreachable a request waits for ioredis's next attempt to reconnect and fails
 * with RedisUnavailableError if that fails too; a command in flight when its connection is
 * lost fails the same way rather than risk running twice.
 */
export class RedisConnections implements RedisRunner {
  private readonly shared: Redis;
  private readonly transactions: Redis;
  private readonly dedicated = new Set<Redis>();
  private readonly waiting = new Map<Redis, Promise<void>>();
  private readonly connectTimeoutMs: number;
  private closed = false;

  constructor(private readonly options: RedisConnectionsOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.shared = this.open({ reconnect: true });
    this.transactions = this.open({ reconnect: true });
  }

  /** `redis://host:port/db` with the password masked. */
  get description(): string {
    return describeRedisServer(this.options.server);
  }

  async pipeline(
    commands: readonly RedisCommand[],
    options: { dedicated?: boolean } = {},
  ): Promise<RedisReply[]> {
    if (commands.length === 0) return [];
    if (!options.dedicated) return this.send(this.shared, commands);
    const connection = this.open({ reconnect: false });
    this.dedicated.add(connection);
    try {
      return await this.send(connection, commands);
    } finally {
      this.dedicated.delete(connection);
      connection.disconnect();
    }
  }

  async transaction(commands: readonly RedisCommand[]): Promise<TransactionOutcome> {
    // MULTI and EXEC by hand rather than ioredis's multi(), whose EXECABORT error does not say
    // which command was refused.
    const replies = await this.send(this.transactions, [["MULTI"], ...commands, ["EXEC"]]);
    const exec = replies.at(-1);
    if (Array.isArray(exec)) return { status: "executed", replies: exec };
    if (exec === null) return { status: "aborted" };
    const queued = replies.slice(1, -1);
    const failedIndex = queued.findIndex((reply) => reply instanceof Error);
    const refusal = queued[failedIndex];
    return {
      status: "discarded",
      error:
        refusal instanceof Error
          ? refusal
          : exec instanceof Error
            ? exec
            : new Error("EXECABORT Transaction discarded"),
      failedIndex: failedIndex === -1 ? undefined : failedIndex,
    };
  }

  /** Closes every connection; later calls fail with RedisUnavailableError. */
  close(): void {
    this.closed = true;
    for (const connection of [this.shared, this.transactions, ...this.dedicated]) {
      connection.disconnect();
    }
  }

  /** Writes `commands` as one pipeline once `connection` is ready: one reply each. */
  private async send(connection: Redis, commands: readonly RedisCommand[]): Promise<RedisReply[]> {
    await this.ready(connection);
    const pipeline = connection.pipeline();
    for (const [name = "", ...args] of commands) {
      pipeline.callBuffer(commandName(name), ...args.map(toBuffer));
    }
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, reply]) => {
      if (!error) return withNumbers(reply);
      if (error instanceof ReplyError) return error;
      throw new RedisUnavailableError(
        error.name === "MaxRetriesPerRequestError"
          ? "the connection to Redis was lost before the reply"
          : error.message,
        { cause: error },
      );
    });
  }

  /** Resolves once `connection` is ready; concurrent callers share one wait. */
  private ready(connection: Redis): Promise<void> {
    if (this.closed) return Promise.reject(new RedisUnavailableError("the endpoint is closed"));
    if (connection.status === "ready") return Promise.resolve();
    let waiting = this.waiting.get(connection);
    if (!waiting) {
      waiting = this.waitUntilReady(connection);
      this.waiting.set(connection, waiting);
    }
    return waiting;
  }

  /**
   * Connects if need be and waits; rejects with RedisUnavailableError when the attempt fails,
   * saying why: the last error of the attempt (a refused AUTH comes after the NOAUTH of the
   * set-up commands sent with it).
   */
  private waitUntilReady(connection: Redis): Promise<void> {
    if (connection.status === "wait" || connection.status === "end") {
      // Failures arrive as events, below.
      connection.connect().catch(() => {});
    }
    return new Promise((resolve, reject) => {
      let lastError: Error | undefined;
      const settle = (error?: RedisUnavailableError) => {
        clearTimeout(timer);
        this.waiting.delete(connection);
        connection.off("ready", onReady).off("error", onError).off("close", onClose);
        connection.off("end", onClose);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => settle();
      const onError = (error: Error) => {
        lastError = error;
      };
      const onClose = () =>
        settle(
          new RedisUnavailableError(lastError?.message ?? "Redis closed the connection", {
            cause: lastError,
          }),
        );
      const timer = setTimeout(
        () => settle(new RedisUnavailableError(`no connection within ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      connection.on("ready", onReady).on("error", onError).on("close", onClose).on("end", onClose);
    });
  }

  private open({ reconnect }: { reconnect: boolean }): Redis {
    const { server, logger } = this.options;
    const connection = new Redis({
      host: server.host,
      port: server.port,
      username: server.username,
      password: server.password,
      db: server.db,
      connectionName: this.options.clientName ?? "redis-rest",
      // RESP2, whose replies Upstash's JSON mirrors (under RESP3 a script's `false` would be 0).
      protocol: 2,
      // Integers as their digits (see withNumbers); Buffer replies keep strings apart from them.
      stringNumbers: true,
      lazyConnect: true,
      connectTimeout: this.connectTimeoutMs,
      // Never queued for later nor resent; in flight when the connection is lost, they fail.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // Requests wait for the next attempt (see waitUntilReady), so attempts stay close together.
      retryStrategy: reconnect ? (attempt) => Math.min(attempt * 50, 500) : null,
    });
    // Once per distinct error while Redis stays unreachable, not at every attempt.
    let lastError: string | undefined;
    let wasReady = false;
    connection.on("ready", () => {
      lastError = undefined;
      wasReady = true;
    });
    connection.on("reconnecting", () => {
      if (wasReady)
        logger.warn("lost a Redis connection; reconnecting", { redis: this.description });
      wasReady = false;
    });
    connection.on("error", (error: Error) => {
      if (this.closed || error.message === lastError) return;
      lastError = error.message;
      logger.warn("Redis connection error", { redis: this.description, error: error.message });
    });
    return connection;
  }
}

/**
 * Upper case: ioredis reshapes the replies and arguments of a few commands by their lower-case
 * name (HGETALL into an object, MSET or HSET given one object). Redis takes names in any case,
 * so an upper-case name goes to Redis and comes back exactly as Redis has it.
 */
function commandName(name: RedisArgument): string {
  return (typeof name === "string" ? name : textDecoder.decode(name)).toUpperCase();
}

/**
 * A reply as RedisReply has it, integers as numbers. ioredis's own integer decoding rounds
 * values near 2^53 (-9007199254740991 becomes -9007199254740992); Number() of the digits does
 * not. What else the RESP2 decoder yields for Buffer commands is a RedisReply already.
 */
function withNumbers(reply: unknown): RedisReply {
  if (typeof reply === "string") return Number(reply);
  if (Array.isArray(reply)) return reply.map(withNumbers);
  return reply as RedisReply;
}

/** ioredis sends a Buffer as raw bytes but would stringify any other Uint8Array. */
function toBuffer(argument: RedisArgument): string | Buffer {
  if (typeof argument === "string" || Buffer.isBuffer(argument)) return argument;
  return Buffer.from(argument.buffer, argument.byteOffset, argument.byteLength);
}
