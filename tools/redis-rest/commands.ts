import type { RedisReply } from "./reply-json.ts";
import type { ScriptShaMap } from "./scripts.ts";

/** One command: its name then its arguments, each text (sent as UTF-8) or raw bytes. */
export type RedisArgument = string | Uint8Array;
export type RedisCommand = readonly RedisArgument[];

/** A command this endpoint will not send; answered like a Redis error (`ERR …`). */
export class CommandRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandRejectedError";
  }
}

export interface PreparedCommand {
  /** What goes to Redis. */
  command: RedisCommand;
  /** Upper-case name, for messages. */
  name: string;
  /** Needs a connection of its own (BLPOP, XREAD BLOCK, …). */
  blocking: boolean;
  /** Turns Redis's reply into what the client expects (SCRIPT LOAD → the original SHA1). */
  mapReply?: (reply: RedisReply) => RedisReply;
}

/**
 * Commands that would change the state of a pooled connection shared with other requests, or
 * take it over. Transactions go through /multi-exec instead.
 */
const CONNECTION_STATE_COMMANDS: Record<string, string> = {
  MULTI: "use the /multi-exec endpoint",
  EXEC: "use the /multi-exec endpoint",
  DISCARD: "use the /multi-exec endpoint",
  WATCH: "use the /multi-exec endpoint",
  UNWATCH: "use the /multi-exec endpoint",
  SUBSCRIBE: "pub/sub is not supported",
  PSUBSCRIBE: "pub/sub is not supported",
  SSUBSCRIBE: "pub/sub is not supported",
  UNSUBSCRIBE: "pub/sub is not supported",
  PUNSUBSCRIBE: "pub/sub is not supported",
  SUNSUBSCRIBE: "pub/sub is not supported",
  MONITOR: "not supported",
  SELECT: "the database is chosen in REDIS_URL",
  SWAPDB: "the database is chosen in REDIS_URL",
  AUTH: "credentials are set in REDIS_URL",
  HELLO: "the endpoint speaks RESP2 to Redis",
  RESET: "it would reset a shared connection",
  QUIT: "it would close a shared connection",
  SYNC: "not supported",
  PSYNC: "not supported",
  REPLCONF: "not supported",
};

const CLIENT_STATE_SUBCOMMANDS = new Set([
  "REPLY",
  "TRACKING",
  "CACHING",
  "SETNAME",
  "SETINFO",
  "NO-EVICT",
  "NO-TOUCH",
]);

const BLOCKING_COMMANDS = new Set([
  "BLPOP",
  "BRPOP",
  "BRPOPLPUSH",
  "BLMOVE",
  "BLMPOP",
  "BZPOPMIN",
  "BZPOPMAX",
  "BZMPOP",
  "WAIT",
  "WAITAOF",
]);

const textDecoder = new TextDecoder();
const asText = (argument: RedisArgument | undefined): string | undefined =>
  argument === undefined
    ? undefined
    : typeof argument === "string"
      ? argument
      : textDecoder.decode(argument);

/**
 * Checks one command and adapts it for stock Redis: script shebangs rewritten, EVALSHA and
 * SCRIPT EXISTS given the SHA1 Redis knows. Throws CommandRejectedError.
 */
export function prepareCommand(command: RedisCommand, scripts: ScriptShaMap): PreparedCommand {
  const name = asText(command[0])?.toUpperCase();
  if (!name) throw new CommandRejectedError("ERR empty command");
  const reason = CONNECTION_STATE_COMMANDS[name];
  if (reason !== undefined) {
    throw new CommandRejectedError(
      `ERR Command is not available over the REST endpoint: ${name} (${reason})`,
    );
  }
  const subcommand = asText(command[1])?.toUpperCase();
  if (name === "CLIENT" && subcommand !== undefined && CLIENT_STATE_SUBCOMMANDS.has(subcommand)) {
    throw new CommandRejectedError(
      `ERR Command is not available over the REST endpoint: CLIENT ${subcommand} (it would change a shared connection)`,
    );
  }
  const blocking =
    BLOCKING_COMMANDS.has(name) ||
    ((name === "XREAD" || name === "XREADGROUP") &&
      command.some((argument, index) => index > 0 && asText(argument)?.toUpperCase() === "BLOCK"));
  const prepared: PreparedCommand = { command, name, blocking };

  switch (name) {
    case "EVAL":
    case "EVAL_RO": {
      const script = command[1];
      if (script === undefined) return prepared;
      const { script: sent } = scripts.prepare(script);
      return { ...prepared, command: replaceAt(command, 1, sent) };
    }
    case "EVALSHA":
    case "EVALSHA_RO": {
      const sha = asText(command[1]);
      if (sha === undefined) return prepared;
      return { ...prepared, command: replaceAt(command, 1, scripts.resolve(sha)) };
    }
    case "SCRIPT": {
      if (subcommand === "LOAD" && command[2] !== undefined && command.length === 3) {
        const { script: sent, originalSha } = scripts.prepare(command[2]);
        return {
          ...prepared,
          command: replaceAt(command, 2, sent),
          // Redis answers the SHA1 of what it got; the client expects that of what it sent.
          mapReply: (reply) =>
            reply instanceof Uint8Array || typeof reply === "string" ? originalSha : reply,
        };
      }
      if (subcommand === "EXISTS") {
        return {
          ...prepared,
          command: command.map((argument, index) => {
            const sha = index >= 2 ? asText(argument) : undefined;
            return sha === undefined ? argument : scripts.resolve(sha);
          }),
        };
      }
      return prepared;
    }
    default:
      return prepared;
  }
}

function replaceAt(command: RedisCommand, index: number, value: RedisArgument): RedisCommand {
  const copy = [...command];
  copy[index] = value;
  return copy;
}
