/** Where the RESP client connects: parsed from `redis://[[user]:password@]host[:port][/db]`. */
export interface RedisServer {
  host: string;
  port: number;
  /** ACL user; with only a password, `AUTH password` authenticates the default user. */
  username: string | undefined;
  password: string | undefined;
  /** SELECTed on every new connection. */
  db: number;
}

export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisUrlError";
  }
}

/** Parses a redis:// URL; throws RedisUrlError saying what is wrong. */
export function parseRedisUrl(text: string): RedisServer {
  if (!URL.canParse(text)) throw new RedisUrlError("must be a redis:// URL");
  const url = new URL(text);
  if (url.protocol !== "redis:") {
    throw new RedisUrlError(`must be a redis:// URL (got ${url.protocol}//; TLS is not supported)`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) throw new RedisUrlError("must name a host, as in redis://127.0.0.1:6379");
  const port = url.port === "" ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RedisUrlError("must have a port between 1 and 65535");
  }
  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,5}$/.test(path)) {
    throw new RedisUrlError(
      `database must be a number, as in redis://host:6379/0 (got "/${path}")`,
    );
  }
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = url.username ? decodeURIComponent(url.username) : undefined;
    password = url.password ? decodeURIComponent(url.password) : undefined;
  } catch {
    throw new RedisUrlError("has a badly percent-encoded user or password");
  }
  return { host, port, username, password, db: path === "" ? 0 : Number(path) };
}

/** `redis://host:port/db` for logs, with the credentials masked. */
export function describeRedisServer(server: RedisServer): string {
  const credentials =
    server.password !== undefined
      ? `${server.username ?? ""}:***@`
      : server.username
        ? `${server.username}@`
        : "";
  const host = server.host.includes(":") ? `[${server.host}]` : server.host;
  return `redis://${credentials}${host}:${server.port}/${server.db}`;
}
