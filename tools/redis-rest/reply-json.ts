/**
 * A Redis reply as ioredis's Buffer commands give it: strings as bytes (simple strings too),
 * integers as numbers, nil as null, an error *reply* as an Error (inside an array, or as one
 * entry of a pipeline). `string` is for replies the endpoint writes itself (SCRIPT LOAD's SHA1).
 */
export type RedisReply = string | Uint8Array | number | null | Error | RedisReply[];

export type JsonReply = string | number | null | JsonReply[];

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/**
 * A Redis reply as the `result` of a JSON response, the way @upstash/redis decodes it.
 *
 * With `Upstash-Encoding: base64` every string is the base64 of its bytes, simple strings
 * (PONG, QUEUED, TYPE's "string") included, because the client base64-decodes every string
 * but one: a top-level "OK" is sent as is. Inside arrays even "OK" is encoded (the client
 * decodes array members unconditionally). Integers stay numbers; nil is null.
 *
 * Without it, strings are UTF-8 text (invalid bytes become U+FFFD, as on Upstash).
 */
export function replyToJson(reply: RedisReply, base64: boolean, topLevel = true): JsonReply {
  if (reply === null || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => replyToJson(item, base64, false));
  // An error nested in an array (a script's table, say): its message stands in for it.
  const value = reply instanceof Error ? reply.message : reply;
  if (!base64) return typeof value === "string" ? value : textDecoder.decode(value);
  if (topLevel && (value === "OK" || (value instanceof Uint8Array && isOk(value)))) return "OK";
  const bytes = typeof value === "string" ? textEncoder.encode(value) : value;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function isOk(bytes: Uint8Array): boolean {
  return bytes.length === 2 && bytes[0] === 0x4f && bytes[1] === 0x4b;
}
