/**
 * RESP2 values and command encoding. Bulk strings stay bytes (`Uint8Array`) so binary values
 * survive; simple strings (`+OK`, `+PONG`, `+QUEUED`) are JS strings.
 */

/** An error reply (`-ERR …`, `-WRONGTYPE …`): a value, not an exception. */
export class RedisErrorReply {
  constructor(readonly message: string) {}

  /** The first word: "ERR", "WRONGTYPE", "NOSCRIPT", "EXECABORT", … */
  get code(): string {
    const space = this.message.indexOf(" ");
    return space === -1 ? this.message : this.message.slice(0, space);
  }
}

export type RespValue = string | Uint8Array | number | null | RedisErrorReply | RespValue[];

/** One command: its name then its arguments, each text (sent as UTF-8) or raw bytes. */
export type RedisArgument = string | Uint8Array;
export type RedisCommand = readonly RedisArgument[];

const CRLF = Buffer.from("\r\n");
const textEncoder = new TextEncoder();

/** `*N\r\n$len\r\narg\r\n…`: every argument as a bulk string. */
export function encodeCommand(command: RedisCommand): Buffer {
  const parts: Uint8Array[] = [Buffer.from(`*${command.length}\r\n`)];
  for (const argument of command) {
    const bytes = typeof argument === "string" ? textEncoder.encode(argument) : argument;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

export function encodeCommands(commands: readonly RedisCommand[]): Buffer {
  return Buffer.concat(commands.map(encodeCommand));
}

const textDecoder = new TextDecoder();

/** A string or bulk reply as text (invalid UTF-8 becomes U+FFFD); undefined for other types. */
export function replyText(value: RespValue): string | undefined {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return textDecoder.decode(value);
  return undefined;
}
