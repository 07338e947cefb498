import { describe, expect, test } from "bun:test";
import { RedisProtocolError } from "../../tools/redis-rest/errors.ts";
import { replyToJson } from "../../tools/redis-rest/reply-json.ts";
import { encodeCommand, RedisErrorReply, type RespValue } from "../../tools/redis-rest/resp.ts";
import { RespParser } from "../../tools/redis-rest/resp-parser.ts";

/** These need no Redis: the wire format itself, byte by byte. */

const bytes = (text: string) => new TextEncoder().encode(text);

/** Feeds `wire` to a fresh parser split into `chunkSize`-byte pieces; all replies. */
function parse(wire: Uint8Array, chunkSize = wire.length): RespValue[] {
  const parser = new RespParser();
  const replies: RespValue[] = [];
  for (let offset = 0; offset < wire.length; offset += chunkSize) {
    replies.push(...parser.feed(wire.subarray(offset, offset + chunkSize)));
  }
  expect(parser.idle).toBe(true);
  return replies;
}

const MIXED = bytes(
  [
    "+OK",
    "-ERR unknown command 'FOO'",
    ":42",
    ":-9007199254740991",
    "$5",
    "hello",
    "$0",
    "",
    "$-1",
    "*-1",
    "*0",
    "*3",
    "$1",
    "a",
    "*2",
    ":1",
    "*1",
    "$-1",
    "+QUEUED",
    "$4",
    "a\r\nb",
    "",
  ].join("\r\n"),
);

const EXPECTED: RespValue[] = [
  "OK",
  new RedisErrorReply("ERR unknown command 'FOO'"),
  42,
  -9007199254740991,
  bytes("hello"),
  bytes(""),
  null,
  null,
  [],
  [bytes("a"), [1, [null]], "QUEUED"],
  bytes("a\r\nb"),
];

describe("RespParser", () => {
  test("parses every RESP2 type, nested arrays, nil and empty values", () => {
    expect(parse(MIXED)).toEqual(EXPECTED);
  });

  test.each([1, 2, 3, 7, 64])("gives the same replies when fed %d byte(s) at a time", (size) => {
    expect(parse(MIXED, size)).toEqual(EXPECTED);
  });

  test("bulk strings are binary-safe (CR, LF, NUL, bytes above 0x7f)", () => {
    const payload = new Uint8Array([0, 13, 10, 255, 128, 0x4f, 0x4b, 13]);
    const wire = new Uint8Array([...bytes(`$${payload.length}\r\n`), ...payload, 13, 10]);
    expect(parse(wire, 1)).toEqual([payload]);
  });

  test("a large reply arriving in many chunks (linear, not quadratic)", () => {
    const items = Array.from({ length: 20_000 }, (_, i) => `value-${i}`);
    const wire = bytes(
      `*${items.length}\r\n${items.map((item) => `$${item.length}\r\n${item}\r\n`).join("")}`,
    );
    const started = performance.now();
    const [reply] = parse(wire, 1000);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(Array.isArray(reply) && reply.length).toBe(items.length);
    expect(Array.isArray(reply) ? reply.at(-1) : undefined).toEqual(bytes("value-19999"));
  });

  test("a reply split in two pieces is returned once complete", () => {
    const parser = new RespParser();
    expect(parser.feed(bytes("$11\r\nhello "))).toEqual([]);
    expect(parser.idle).toBe(false);
    expect(parser.feed(bytes("world\r\n:1\r\n"))).toEqual([bytes("hello world"), 1]);
    expect(parser.idle).toBe(true);
  });

  test.each([
    ["an unknown type byte", "!oops\r\n"],
    ["a bad integer", ":12a\r\n"],
    ["a negative bulk length", "$-5\r\n"],
    ["a bulk string without CRLF", "$2\r\nabXY"],
  ])("%s is a RedisProtocolError", (_label, wire) => {
    expect(() => new RespParser().feed(bytes(wire))).toThrow(RedisProtocolError);
  });
});

describe("encodeCommand", () => {
  test("every argument is a bulk string; lengths count bytes, not characters", () => {
    const wire = encodeCommand(["SET", "k✓", new Uint8Array([0, 255])]);
    expect(wire).toEqual(
      Buffer.concat([
        Buffer.from("*3\r\n$3\r\nSET\r\n$4\r\nk✓\r\n$2\r\n"),
        Buffer.from([0, 255]),
        Buffer.from("\r\n"),
      ]),
    );
  });
});

describe("replyToJson", () => {
  const b64 = (text: string) => Buffer.from(text).toString("base64");

  test("base64: every string except a top-level OK, numbers and nil untouched", () => {
    expect(replyToJson("OK", true)).toBe("OK");
    expect(replyToJson(bytes("OK"), true)).toBe("OK");
    expect(replyToJson("PONG", true)).toBe(b64("PONG"));
    expect(replyToJson(bytes("héllo"), true)).toBe(b64("héllo"));
    expect(replyToJson(7, true)).toBe(7);
    expect(replyToJson(null, true)).toBeNull();
    // Inside arrays the client decodes every string, "OK" included.
    expect(replyToJson(["OK", bytes("OK"), 1, null, [bytes("x")]], true)).toEqual([
      b64("OK"),
      b64("OK"),
      1,
      null,
      [b64("x")],
    ]);
    expect(replyToJson(new Uint8Array([255, 0]), true)).toBe("/wA=");
  });

  test("without base64: UTF-8 text, invalid bytes replaced", () => {
    expect(replyToJson(bytes("héllo"), false)).toBe("héllo");
    expect(replyToJson(["OK", bytes("a"), 2], false)).toEqual(["OK", "a", 2]);
    expect(replyToJson(new Uint8Array([0x61, 0xff]), false)).toBe("a\uFFFD");
  });
});
