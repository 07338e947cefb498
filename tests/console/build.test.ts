import { expect, test } from "bun:test";
import { readFile } from "node:fs/promises";
import { EMBEDDED_BUILD, freshEmbeddedJson } from "../../tools/console/build.ts";

/**
 * console/dist.json (the web console's build, which every runtime serves) is committed; it must
 * be what `bun run console:build` makes of console/ now. Fails with the command to run.
 */
test("console/dist.json is the build of console/ as it is (else: bun run console:build)", async () => {
  const committed = await readFile(EMBEDDED_BUILD, "utf8");
  const fresh = await freshEmbeddedJson();
  if (fresh !== committed) {
    throw new Error("console/dist.json is stale: run `bun run console:build` and commit it");
  }
  expect(fresh).toBe(committed);
}, 120_000);
