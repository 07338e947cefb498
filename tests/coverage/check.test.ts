import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkCoverage, lineRanges, parseLcov } from "../../tools/coverage/check.ts";
import { PROJECT_ROOT } from "../support/process.ts";

/** tools/coverage/check.ts: the gate that holds the services, HTTP and auth folders at 100%. */

function record(path: string, lines: Record<number, number>): string {
  const da = Object.entries(lines).map(([n, count]) => `DA:${n},${count}`);
  const hit = Object.values(lines).filter((count) => count > 0).length;
  return ["TN:", `SF:${path}`, ...da, `LF:${da.length}`, `LH:${hit}`, "end_of_record"].join("\n");
}

let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "coverage-check-"));
  const files: Record<string, string> = {
    "src/core/services/money.ts": "export const add = (a: number, b: number) => a + b;\n",
    "src/core/services/types.ts":
      "export interface Money { cents: bigint }\nexport type Id = number;\n",
    "src/core/http/app.ts": "export function app() {\n  return 1;\n}\n",
    "src/core/http/routes/nested.ts": "export const nested = 1;\n",
    "src/core/auth/tokens.ts": "export const token = 'x';\n",
    "src/core/lib/other.ts": "export const other = 1;\n",
  };
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const everyHeldFileRun = [
  record("src/core/services/money.ts", { 1: 3 }),
  record("src/core/http/app.ts", { 1: 1, 2: 1 }),
  record("src/core/http/routes/nested.ts", { 1: 1 }),
  record("src/core/auth/tokens.ts", { 1: 1 }),
];

describe("parseLcov", () => {
  test("counts found, hit and uncovered lines per file; a file named twice merges its runs", () => {
    const files = parseLcov(
      [
        record("a.ts", { 1: 1, 2: 0, 3: 0, 5: 2 }),
        record("b.ts", { 1: 0 }),
        record("b.ts", { 1: 4, 2: 0 }),
      ].join("\n"),
    );
    expect(files.get("a.ts")).toEqual({ found: 4, hit: 2, uncovered: [2, 3] });
    expect(files.get("b.ts")).toEqual({ found: 2, hit: 1, uncovered: [2] });
  });

  test("line ranges read like Bun's text report", () => {
    expect(lineRanges([2, 3, 4, 7, 9, 10])).toBe("2-4, 7, 9-10");
    expect(lineRanges([])).toBe("");
  });
});

describe("checkCoverage", () => {
  test("passes when every file of the held folders covers all its lines, and prints the figures", () => {
    const lcov = [...everyHeldFileRun, record("src/core/lib/other.ts", { 1: 0 })].join("\n");
    const { ok, report } = checkCoverage(lcov, root);
    expect(ok).toBe(true);
    expect(report[0]).toBe("coverage: 83.33% of lines in total (5/6 lines in 5 files)");
    expect(report).toContain("  src/core/services: 100.00% of lines (1/1)");
    expect(report).toContain("  src/core/http: 100.00% of lines (3/3)");
    expect(report).toContain("  src/core/auth: 100.00% of lines (1/1)");
  });

  test("fails on a held file under 100%, naming its uncovered lines; files elsewhere do not count", () => {
    const lcov = [
      record("src/core/services/money.ts", { 1: 3 }),
      record("src/core/http/app.ts", { 1: 1, 2: 0, 3: 0 }),
      record("src/core/http/routes/nested.ts", { 1: 1 }),
      record("src/core/auth/tokens.ts", { 1: 1 }),
      record("src/core/lib/other.ts", { 1: 0 }),
    ].join("\n");
    const { ok, report } = checkCoverage(lcov, root);
    expect(ok).toBe(false);
    expect(report).toContain("  src/core/http/app.ts: 33.33% of lines; uncovered: 2-3");
    expect(report.join("\n")).not.toContain("other.ts");
  });

  test("fails on a held file no test loaded, unless it holds only types", () => {
    const lcov = everyHeldFileRun.filter((r) => !r.includes("nested.ts")).join("\n");
    const { ok, report } = checkCoverage(lcov, root);
    expect(ok).toBe(false);
    expect(report).toContain("  src/core/http/routes/nested.ts: not loaded by any test");
    expect(report.join("\n")).not.toContain("types.ts");
  });

  test("reads the report's paths relative to the project, or absolute", () => {
    const lcov = everyHeldFileRun.map((r) => r.replace("SF:", `SF:${root}/`)).join("\n");
    expect(checkCoverage(lcov, root).ok).toBe(true);
  });
});

describe("bun run coverage:check", () => {
  test("exits 1 and says how to produce the report when there is none", async () => {
    const child = Bun.spawn(["bun", "run", "coverage:check", join(root, "missing/lcov.info")], {
      cwd: PROJECT_ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    expect(code).toBe(1);
    expect(stderr).toContain("no lcov report at");
    expect(stderr).toContain("bun test --coverage --coverage-reporter=lcov");
  });

  test("exits 1 on a held file under 100% of the real project", async () => {
    const lcov = join(root, "project.lcov");
    writeFileSync(lcov, record("src/core/services/accounts.ts", { 1: 1, 2: 0 }));
    const child = Bun.spawn(["bun", "run", "coverage:check", lcov], {
      cwd: PROJECT_ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stdout] = await Promise.all([child.exited, new Response(child.stdout).text()]);
    expect(code).toBe(1);
    expect(stdout).toContain("src/core/services/accounts.ts: 50.00% of lines; uncovered: 2");
  });
});
