import { describe, expect, test } from "bun:test";
import { prepareCommand } from "../../tools/redis-rest/commands.ts";
import { rewriteShebang, ScriptShaMap, sha1Hex } from "../../tools/redis-rest/scripts.ts";

/** Pure functions; the same paths against a real Redis are in upstash-client and wire tests. */

describe("rewriteShebang", () => {
  test.each([
    ["#!lua flags=allow-key-locking\nreturn 1", "#!lua\nreturn 1"],
    ["#!lua flags=allow-key-locking,no-writes\nreturn 1", "#!lua flags=no-writes\nreturn 1"],
    [
      "#!lua  flags=no-writes,allow-key-locking,allow-stale\r\nx",
      "#!lua flags=no-writes,allow-stale\nx",
    ],
    ["#!lua flags=allow-key-locking", "#!lua"],
  ])("%p → %p", (script, expected) => {
    expect(rewriteShebang(script)).toBe(expected);
  });

  test.each([
    "return 1",
    "#!lua\nreturn 1",
    "#!lua flags=no-writes\nreturn 1",
    "#!python flags=allow-key-locking\nreturn 1",
    " #!lua flags=allow-key-locking\nreturn 1",
  ])("%p is left alone", (script) => {
    expect(rewriteShebang(script)).toBeUndefined();
  });
});

describe("ScriptShaMap", () => {
  const upstashScript = "#!lua flags=allow-key-locking\nreturn 1";

  test("maps the client's SHA1 to the rewritten script's, case-insensitively", () => {
    const map = new ScriptShaMap();
    const original = sha1Hex(upstashScript);
    expect(map.resolve(original)).toBe(original); // unknown: passes through
    const { script, originalSha } = map.prepare(upstashScript);
    expect(script).toBe("#!lua\nreturn 1");
    expect(originalSha).toBe(original);
    expect(map.resolve(original)).toBe(sha1Hex("#!lua\nreturn 1"));
    expect(map.resolve(original.toUpperCase())).toBe(sha1Hex("#!lua\nreturn 1"));
  });

  test("scripts sent as bytes are rewritten too", () => {
    const map = new ScriptShaMap();
    const { script } = map.prepare(new TextEncoder().encode(upstashScript));
    expect(script).toBe("#!lua\nreturn 1");
  });
});

describe("prepareCommand", () => {
  const scripts = new ScriptShaMap();
  const shebang = "#!lua flags=allow-key-locking\nreturn 2";
  const original = sha1Hex(shebang);
  const rewritten = sha1Hex("#!lua\nreturn 2");

  test("EVAL, EVAL_RO and SCRIPT LOAD send the rewritten script; SCRIPT LOAD answers the original SHA1", () => {
    expect(prepareCommand(["eval", shebang, "0"], scripts).command).toEqual([
      "eval",
      "#!lua\nreturn 2",
      "0",
    ]);
    expect(prepareCommand(["EVAL_RO", shebang, "0"], scripts).command[1]).toBe("#!lua\nreturn 2");
    const load = prepareCommand(["script", "load", shebang], scripts);
    expect(load.command).toEqual(["script", "load", "#!lua\nreturn 2"]);
    expect(load.mapReply?.(new TextEncoder().encode(rewritten))).toBe(original);
  });

  test("EVALSHA, EVALSHA_RO and SCRIPT EXISTS use the SHA1 Redis knows", () => {
    scripts.prepare(shebang);
    expect(prepareCommand(["evalsha", original, "1", "k"], scripts).command).toEqual([
      "evalsha",
      rewritten,
      "1",
      "k",
    ]);
    expect(prepareCommand(["EVALSHA_RO", original, "0"], scripts).command[1]).toBe(rewritten);
    expect(prepareCommand(["SCRIPT", "EXISTS", original, "abc"], scripts).command).toEqual([
      "SCRIPT",
      "EXISTS",
      rewritten,
      "abc",
    ]);
  });

  const refused: string[][] = [
    ["MULTI"],
    ["exec"],
    ["WATCH", "k"],
    ["SUBSCRIBE", "ch"],
    ["SELECT", "1"],
    ["HELLO", "3"],
    ["CLIENT", "REPLY", "OFF"],
    ["client", "setname", "x"],
  ];
  test.each(refused.map((command) => [command.join(" "), command] as const))(
    "%s is refused (it would change a shared connection)",
    (_label, command) => {
      expect(() => prepareCommand(command, scripts)).toThrow(/^ERR Command is not available/);
    },
  );

  test("blocking commands are flagged for a dedicated connection", () => {
    expect(prepareCommand(["BLPOP", "k", "1"], scripts).blocking).toBe(true);
    expect(prepareCommand(["XREAD", "BLOCK", "100", "STREAMS", "s", "$"], scripts).blocking).toBe(
      true,
    );
    expect(prepareCommand(["XREAD", "STREAMS", "s", "0"], scripts).blocking).toBe(false);
    expect(prepareCommand(["GET", "k"], scripts).blocking).toBe(false);
  });
});
