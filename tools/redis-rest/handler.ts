import { createHash, timingSafeEqual } from "node:crypto";
import type { Logger } from "../../src/core/lib/logger.ts";
import {
  CommandRejectedError,
  type PreparedCommand,
  prepareCommand,
  type RedisArgument,
  type RedisCommand,
} from "./commands.ts";
import { type RedisRunner, RedisUnavailableError } from "./redis-connections.ts";
import { type JsonReply, type RedisReply, replyToJson } from "./reply-json.ts";
import { PayloadTooLargeError, readBodyWithLimit } from "./request-body.ts";
import { ScriptShaMap } from "./scripts.ts";

export interface RedisRestHandlerOptions {
  redis: RedisRunner;
  /** The bearer token clients must present (`Authorization: Bearer …` or `?_token=…`). */
  token: string;
  logger: Logger;
  /** Larger request bodies are answered 413. Default 1 MiB. */
  maxBodyBytes?: number;
}

export type FetchHandler = (request: Request) => Promise<Response>;

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A request we answer with an error status before (or instead of) reaching Redis. */
class RestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "RestError";
  }
}

type Entry = { result: JsonReply } | { error: string };

const ALLOWED_METHODS = new Set(["GET", "HEAD", "POST", "PUT"]);
const RESERVED_PATHS = new Set(["pipeline", "multi-exec"]);
/** The first path segment of a path-style command: a command name such as `set` or `json.get`. */
const COMMAND_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const textDecoder = new TextDecoder();

/**
 * An Upstash-compatible REST endpoint in front of a RESP Redis, as a fetch handler
 * (`Bun.serve({ fetch })`). It speaks what @upstash/redis and @upstash/ratelimit send:
 *
 * - `POST /` with `["CMD", …args]` → `{"result": …}`; an error reply → 400 `{"error": "ERR …"}`
 * - path style: `GET /set/key/value`, `POST /set/key` (body = last argument), `?EX=100` appended
 * - `POST /pipeline` with `[[…], […]]` → `[{"result"}|{"error"}, …]`, one entry per command
 * - `POST /multi-exec`: the same inside MULTI/EXEC on the transactions' connection; a command
 *   refused while queuing discards them all → 400 `{"error": "EXECABORT …"}`
 * - `Upstash-Encoding: base64` (see reply-json.ts), `#!lua flags=…` scripts (see scripts.ts)
 */
export function createRedisRestHandler(options: RedisRestHandlerOptions): FetchHandler {
  const { redis, logger } = options;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const expectedDigest = sha256(options.token);
  const scripts = new ScriptShaMap();

  const authorised = (request: Request, url: URL): boolean => {
    const header = request.headers.get("authorization");
    const presented =
      header !== null
        ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1]
        : (url.searchParams.get("_token") ?? undefined);
    // Digests have equal lengths, as timingSafeEqual requires, whatever was presented.
    return presented !== undefined && timingSafeEqual(sha256(presented), expectedDigest);
  };

  const prepare = (command: RedisCommand): PreparedCommand | CommandRejectedError => {
    try {
      return prepareCommand(command, scripts);
    } catch (error) {
      if (error instanceof CommandRejectedError) return error;
      throw error;
    }
  };

  const entryFor = (prepared: PreparedCommand, reply: RedisReply, base64: boolean): Entry => {
    const mapped = prepared.mapReply ? prepared.mapReply(reply) : reply;
    return mapped instanceof Error
      ? { error: mapped.message }
      : { result: replyToJson(mapped, base64) };
  };

  const single = async (command: RedisCommand, base64: boolean): Promise<Response> => {
    const prepared = prepare(command);
    if (prepared instanceof CommandRejectedError) throw new RestError(400, prepared.message);
    const [reply = null] = await redis.pipeline([prepared.command], {
      dedicated: prepared.blocking,
    });
    const entry = entryFor(prepared, reply, base64);
    return Response.json(entry, { status: "error" in entry ? 400 : 200 });
  };

  const pipeline = async (commands: RedisCommand[], base64: boolean): Promise<Response> => {
    const prepared = commands.map(prepare);
    const toSend = prepared.filter((p): p is PreparedCommand => !(p instanceof Error));
    const replies = await redis.pipeline(
      toSend.map((p) => p.command),
      { dedicated: toSend.some((p) => p.blocking) },
    );
    let next = 0;
    const entries = prepared.map((p): Entry => {
      if (p instanceof CommandRejectedError) return { error: p.message };
      const reply = replies[next] ?? null;
      next += 1;
      return entryFor(p, reply, base64);
    });
    return Response.json(entries);
  };

  const transaction = async (commands: RedisCommand[], base64: boolean): Promise<Response> => {
    const prepared: PreparedCommand[] = [];
    for (const [index, command] of commands.entries()) {
      const p = prepare(command);
      if (p instanceof CommandRejectedError) {
        throw new RestError(400, discardedMessage(index, commandName(command), p.message));
      }
      prepared.push(p);
    }
    const outcome = await redis.transaction(prepared.map((p) => p.command));
    switch (outcome.status) {
      case "executed":
        return Response.json(
          prepared.map((p, index) => entryFor(p, outcome.replies[index] ?? null, base64)),
        );
      case "discarded": {
        const index = outcome.failedIndex;
        const name = index === undefined ? undefined : prepared[index]?.name;
        throw new RestError(400, discardedMessage(index, name, outcome.error.message));
      }
      case "aborted":
        throw new RestError(400, "EXECABORT Transaction aborted: a watched key was modified");
    }
  };

  const route = async (request: Request, url: URL): Promise<Response> => {
    if (!ALLOWED_METHODS.has(request.method)) {
      return Response.json(
        { error: "Method Not Allowed" },
        { status: 405, headers: { Allow: "GET, HEAD, POST, PUT" } },
      );
    }
    if (!authorised(request, url)) return Response.json({ error: "Unauthorized" }, { status: 401 });
    const format = request.headers.get("upstash-response-format");
    if (format !== null && format.toLowerCase() !== "json") {
      throw new RestError(400, "ERR only the json response format is supported here");
    }
    const base64 = request.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    const withBody = request.method === "POST" || request.method === "PUT";
    const path = url.pathname;

    if (path === "/") {
      // GET / answers like a PING: a health check that reaches Redis.
      if (!withBody) return single(["PING"], base64);
      return single(toCommand(await readJson(request, maxBodyBytes), "the body"), base64);
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      if (!withBody) {
        return Response.json(
          { error: "Method Not Allowed" },
          { status: 405, headers: { Allow: "POST, PUT" } },
        );
      }
      const commands = toCommands(await readJson(request, maxBodyBytes));
      return path === "/pipeline" ? pipeline(commands, base64) : transaction(commands, base64);
    }
    const command = await pathCommand(request, url, withBody, maxBodyBytes);
    return single(command, base64);
  };

  return async (request) => {
    const started = performance.now();
    const url = new URL(request.url);
    let response: Response;
    try {
      response = await route(request, url);
    } catch (error) {
      response = errorResponse(error, logger);
    }
    logger.debug("redis-rest request", {
      method: request.method,
      path: url.pathname,
      status: response.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
    return response;
  };
}

function errorResponse(error: unknown, logger: Logger): Response {
  if (error instanceof RestError)
    return Response.json({ error: error.message }, { status: error.status });
  if (error instanceof PayloadTooLargeError) {
    return Response.json({ error: error.message }, { status: 413 });
  }
  if (error instanceof RedisUnavailableError) {
    logger.warn("Redis is unavailable", { error: error.message });
    return Response.json({ error: `ERR Redis is unavailable: ${error.message}` }, { status: 503 });
  }
  logger.error("redis-rest request failed", { error });
  return Response.json({ error: "ERR internal error" }, { status: 500 });
}

function discardedMessage(
  index: number | undefined,
  name: string | undefined,
  cause: string,
): string {
  const which = index === undefined ? "" : ` command ${index + 1}${name ? ` (${name})` : ""}:`;
  return `EXECABORT Transaction discarded because of previous errors:${which} ${cause}`;
}

function commandName(command: RedisCommand): string | undefined {
  const [name] = command;
  return typeof name === "string" ? name.toUpperCase() : undefined;
}

async function readJson(request: Request, limit: number): Promise<unknown> {
  const text = textDecoder.decode(await readBodyWithLimit(request, limit));
  try {
    return JSON.parse(text);
  } catch {
    throw new RestError(400, "ERR the request body is not valid JSON");
  }
}

/** `["SET", "k", 1, true]` → a command; arguments may be strings, numbers or booleans. */
function toCommand(value: unknown, where: string): RedisCommand {
  if (!Array.isArray(value) || value.length === 0) {
    throw new RestError(
      400,
      `ERR ${where} must be a non-empty JSON array such as ["SET","key","value"]`,
    );
  }
  return value.map((argument: unknown, index): RedisArgument => {
    if (typeof argument === "string") return argument;
    if (typeof argument === "number" && Number.isFinite(argument)) return String(argument);
    if (typeof argument === "boolean") return String(argument);
    throw new RestError(
      400,
      `ERR ${where}: argument ${index + 1} must be a string, a number or a boolean`,
    );
  });
}

function toCommands(value: unknown): RedisCommand[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new RestError(
      400,
      'ERR the body must be a non-empty JSON array of commands such as [["SET","k","v"],["GET","k"]]',
    );
  }
  return value.map((command: unknown, index) => toCommand(command, `command ${index + 1}`));
}

/**
 * `/set/key/value?EX=100` → SET key value EX 100. With POST or PUT, a non-empty body is the
 * last argument before the query's (raw bytes: any value, binary included).
 */
async function pathCommand(
  request: Request,
  url: URL,
  withBody: boolean,
  limit: number,
): Promise<RedisCommand> {
  const raw = url.pathname.slice(1).split("/");
  if (raw.length > 1 && raw.at(-1) === "") raw.pop();
  let segments: string[];
  try {
    segments = raw.map((segment) => decodeURIComponent(segment));
  } catch {
    throw new RestError(400, "ERR the path is not valid percent-encoding");
  }
  const [name = ""] = segments;
  if (!COMMAND_NAME.test(name) || RESERVED_PATHS.has(name.toLowerCase())) {
    throw new RestError(404, "Not Found");
  }
  const command: RedisArgument[] = segments;
  if (withBody) {
    const body = await readBodyWithLimit(request, limit);
    if (body.byteLength > 0) command.push(body);
  }
  for (const [key, value] of url.searchParams) {
    if (key === "_token") continue;
    command.push(key);
    if (value !== "") command.push(value);
  }
  return command;
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
