import { RedisProtocolError } from "./errors.ts";
import { RedisErrorReply, type RespValue } from "./resp.ts";

const INITIAL_CAPACITY = 16 * 1024;
/** A buffer grown beyond this is released once it is empty again. */
const RETAINED_CAPACITY = 1024 * 1024;
/** Redis's own default `proto-max-bulk-len`. */
const MAX_BULK_LENGTH = 512 * 1024 * 1024;
/** A type line (`:123`, `$5`, `+OK`, `-ERR …`) longer than this is not RESP. */
const MAX_LINE_LENGTH = 64 * 1024;

const CR = 0x0d;
const LF = 0x0a;

const NEED_MORE = Symbol("need more bytes");
const ARRAY_OPENED = Symbol("array opened");

interface OpenArray {
  items: RespValue[];
  remaining: number;
}

/**
 * Incremental RESP2 parser: feed it the socket's chunks as they come, however they are split,
 * and it returns the replies they complete. Unconsumed bytes live in one buffer that grows by
 * doubling and is compacted in place, and nested arrays are tracked on an explicit stack, so a
 * large reply arriving in many chunks costs linear time.
 */
export class RespParser {
  private buffer = Buffer.allocUnsafe(INITIAL_CAPACITY);
  private start = 0;
  private end = 0;
  /** Length of the bulk string whose `$len` line was read but whose bytes were not, or -1. */
  private pendingBulk = -1;
  private readonly open: OpenArray[] = [];

  /** Appends `chunk`; returns every reply it completes, in order. Throws RedisProtocolError. */
  feed(chunk: Uint8Array): RespValue[] {
    this.append(chunk);
    const replies: RespValue[] = [];
    for (;;) {
      const token = this.step();
      if (token === NEED_MORE) break;
      if (token === ARRAY_OPENED) continue;
      let value: RespValue = token;
      for (;;) {
        const top = this.open.at(-1);
        if (!top) {
          replies.push(value);
          break;
        }
        top.items.push(value);
        top.remaining -= 1;
        if (top.remaining > 0) break;
        this.open.pop();
        value = top.items;
      }
    }
    if (this.start === this.end) {
      this.start = 0;
      this.end = 0;
      if (this.buffer.length > RETAINED_CAPACITY)
        this.buffer = Buffer.allocUnsafe(INITIAL_CAPACITY);
    }
    return replies;
  }

  /** True when no reply is half-read. */
  get idle(): boolean {
    return this.start === this.end && this.open.length === 0 && this.pendingBulk === -1;
  }

  private append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buffer.length && this.start > 0) {
      this.buffer.copy(this.buffer, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end + chunk.length > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.end + chunk.length));
      this.buffer.copy(grown, 0, 0, this.end);
      this.buffer = grown;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Reads one scalar, opens one array, or says more bytes are needed. */
  private step(): RespValue | typeof NEED_MORE | typeof ARRAY_OPENED {
    if (this.pendingBulk >= 0) return this.readBulkBody();
    const lineEnd = this.findLineEnd();
    if (lineEnd === -1) {
      if (this.end - this.start > MAX_LINE_LENGTH) {
        throw new RedisProtocolError("a reply line exceeds 64 KiB without CRLF");
      }
      return NEED_MORE;
    }
    const type = this.buffer[this.start];
    const line = this.buffer.toString("utf8", this.start + 1, lineEnd);
    this.start = lineEnd + 2;
    switch (type) {
      case 0x2b: // '+'
        return line;
      case 0x2d: // '-'
        return new RedisErrorReply(line);
      case 0x3a: // ':'
        // 64-bit in RESP; beyond 2^53 a JS number (and so the JSON reply) loses precision.
        if (!/^-?\d{1,20}$/.test(line)) throw new RedisProtocolError(`invalid integer "${line}"`);
        return Number(line);
      case 0x24: {
        // '$'
        const length = parseLength(line, "bulk length", -1);
        if (length === -1) return null;
        if (length > MAX_BULK_LENGTH)
          throw new RedisProtocolError(`bulk length ${length} too large`);
        this.pendingBulk = length;
        return this.readBulkBody();
      }
      case 0x2a: {
        // '*'
        const count = parseLength(line, "array length", -1);
        if (count === -1) return null;
        if (count === 0) return [];
        this.open.push({ items: [], remaining: count });
        return ARRAY_OPENED;
      }
      default:
        throw new RedisProtocolError(
          `unexpected RESP type byte 0x${(type ?? 0).toString(16).padStart(2, "0")}`,
        );
    }
  }

  private readBulkBody(): Uint8Array | typeof NEED_MORE {
    const length = this.pendingBulk;
    if (this.end - this.start < length + 2) return NEED_MORE;
    const bodyEnd = this.start + length;
    if (this.buffer[bodyEnd] !== CR || this.buffer[bodyEnd + 1] !== LF) {
      throw new RedisProtocolError("bulk string not terminated by CRLF");
    }
    // A copy: the buffer is reused for later bytes.
    const bytes = new Uint8Array(this.buffer.subarray(this.start, bodyEnd));
    this.start = bodyEnd + 2;
    this.pendingBulk = -1;
    return bytes;
  }

  /** Index of the CR of the first CRLF at or after `start`, or -1. */
  private findLineEnd(): number {
    let from = this.start;
    for (;;) {
      const cr = this.buffer.subarray(0, this.end).indexOf(CR, from);
      if (cr === -1 || cr + 1 >= this.end) return -1;
      if (this.buffer[cr + 1] === LF) return cr;
      from = cr + 1;
    }
  }
}

function parseLength(line: string, what: string, min: number): number {
  if (!/^-?\d{1,20}$/.test(line)) throw new RedisProtocolError(`invalid ${what} "${line}"`);
  const value = Number(line);
  if (value < min) throw new RedisProtocolError(`invalid ${what} "${line}"`);
  return value;
}
