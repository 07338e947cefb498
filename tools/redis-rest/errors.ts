/**
 * Errors of the RESP client. An error *reply* from Redis (`-ERR …`) is not one of these: it is
 * a value (`RedisErrorReply`, see resp.ts), because inside a pipeline or a transaction it is
 * one result among others.
 */

/** Redis could not be reached, refused the handshake, or the connection was lost. */
export class RedisConnectionError extends Error {
  /** True when the commands were never written, so sending them elsewhere is safe. */
  readonly unsent: boolean;

  constructor(message: string, options: { cause?: unknown; unsent?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.name = "RedisConnectionError";
    this.unsent = options.unsent ?? false;
  }
}

/** The server sent bytes that are not RESP2; the connection is closed. */
export class RedisProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RedisProtocolError";
  }
}
