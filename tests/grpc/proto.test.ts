import { describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../support/process.ts";

/**
 * The protobuf sources and the TypeScript generated from them: `buf lint` finds nothing, and
 * regenerating (`bun run proto:generate`, the pinned buf and protoc-gen-es, offline) gives
 * exactly the committed src/core/grpc/gen. `buf breaking` against main runs in .ci/run.
 */

const BUF = path.join(PROJECT_ROOT, "node_modules/.bin/buf");
const GENERATED = path.join(PROJECT_ROOT, "src/core/grpc/gen");

function buf(args: string[], cwd = PROJECT_ROOT) {
  const run = Bun.spawnSync([BUF, ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  return { code: run.exitCode, output: `${run.stdout.toString()}${run.stderr.toString()}` };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe("proto/", () => {
  test("buf lint finds nothing", () => {
    const lint = buf(["lint", "proto"]);
    expect(lint.output).toBe("");
    expect(lint.code).toBe(0);
  });

  test("the committed generated code is what the proto files generate (else: bun run proto:generate)", async () => {
    const out = await mkdtemp(path.join(tmpdir(), "proto-gen-"));
    try {
      const generated = buf(["generate", "proto", "--template", "proto/buf.gen.yaml", "-o", out]);
      expect(generated.output).toBe("");
      expect(generated.code).toBe(0);
      const fresh = path.join(out, "src/core/grpc/gen");
      const files = await filesUnder(fresh);
      expect(await filesUnder(GENERATED)).toEqual(files);
      for (const file of files) {
        const [committed, regenerated] = await Promise.all([
          readFile(path.join(GENERATED, file), "utf8"),
          readFile(path.join(fresh, file), "utf8"),
        ]);
        if (committed !== regenerated) {
          throw new Error(`src/core/grpc/gen/${file} is stale: run bun run proto:generate`);
        }
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 30_000);
});
