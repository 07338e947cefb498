/**
 * `bun run coverage:check [lcov.info]`: reads the lcov report of `bun test --coverage
 * --coverage-reporter=lcov` (default coverage/lcov.info), prints the total line coverage and
 * that of each held folder, and exits 1 if any file of a held folder (src/core/services,
 * src/core/http, src/core/auth) covers less than 100% of its lines, naming its uncovered
 * lines. A file of a held folder that no test loaded is not in the report at all: it fails
 * too, unless it holds no code that runs (types only).
 */

import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

/** Folders whose every file must cover all of its lines. */
export const HELD_FOLDERS = ["src/core/services", "src/core/http", "src/core/auth"] as const;

/** One source file of the report: executable lines found, and those never run. */
export interface FileCoverage {
  found: number;
  hit: number;
  uncovered: number[];
}

/**
 * Parses an lcov tracefile into per-file line coverage, keyed by the path it names (SF:). A
 * file named twice (merged tracefiles) counts a line as run if any of its records ran it.
 */
export function parseLcov(text: string): Map<string, FileCoverage> {
  const counts = new Map<string, Map<number, number>>();
  let lines: Map<number, number> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("SF:")) {
      const path = line.slice(3);
      lines = counts.get(path) ?? new Map();
      counts.set(path, lines);
    } else if (line.startsWith("DA:") && lines) {
      const [number = Number.NaN, count = Number.NaN] = line.slice(3).split(",").map(Number);
      if (Number.isInteger(number) && Number.isFinite(count)) {
        lines.set(number, Math.max(lines.get(number) ?? 0, count));
      }
    } else if (line === "end_of_record") {
      lines = undefined;
    }
  }
  const files = new Map<string, FileCoverage>();
  for (const [path, byLine] of counts) {
    const uncovered = [...byLine]
      .filter(([, count]) => count === 0)
      .map(([n]) => n)
      .sort((a, b) => a - b);
    files.set(path, { found: byLine.size, hit: byLine.size - uncovered.length, uncovered });
  }
  return files;
}

/** "3-5, 9": consecutive line numbers as ranges. */
export function lineRanges(numbers: readonly number[]): string {
  const ranges: string[] = [];
  let start: number | undefined;
  let end = 0;
  for (const n of numbers) {
    if (start !== undefined && n === end + 1) {
      end = n;
      continue;
    }
    if (start !== undefined) ranges.push(start === end ? `${start}` : `${start}-${end}`);
    start = n;
    end = n;
  }
  if (start !== undefined) ranges.push(start === end ? `${start}` : `${start}-${end}`);
  return ranges.join(", ");
}

function percent(hit: number, found: number): string {
  return `${(found === 0 ? 100 : (100 * hit) / found).toFixed(2)}%`;
}

const transpiler = new Bun.Transpiler({ loader: "ts" });

/** Whether a TypeScript source has code that runs (not only types and type imports). */
function hasRuntimeCode(source: string): boolean {
  return (
    transpiler
      .transformSync(source)
      .replace(/export\s*\{\s*\};?/g, "")
      .trim() !== ""
  );
}

function sourceFiles(root: string, folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
    .map((name) => join(folder, name).split("\\").join("/"))
    .sort();
}

/** What the check found: the lines to print, and whether it passed. */
export interface CheckResult {
  ok: boolean;
  report: string[];
}

/** Checks an lcov report against the held folders of the project at `root`. */
export function checkCoverage(lcovText: string, root: string): CheckResult {
  const byAbsolute = new Map<string, FileCoverage>();
  for (const [path, coverage] of parseLcov(lcovText)) byAbsolute.set(resolve(root, path), coverage);

  let totalFound = 0;
  let totalHit = 0;
  for (const { found, hit } of byAbsolute.values()) {
    totalFound += found;
    totalHit += hit;
  }
  const report = [
    `coverage: ${percent(totalHit, totalFound)} of lines in total (${totalHit}/${totalFound} lines in ${byAbsolute.size} files)`,
  ];
  const failures: string[] = [];
  for (const folder of HELD_FOLDERS) {
    let found = 0;
    let hit = 0;
    for (const file of sourceFiles(root, folder)) {
      const coverage = byAbsolute.get(resolve(root, file));
      if (!coverage) {
        if (hasRuntimeCode(readFileSync(join(root, file), "utf8"))) {
          failures.push(`  ${file}: not loaded by any test`);
        }
        continue;
      }
      found += coverage.found;
      hit += coverage.hit;
      if (coverage.uncovered.length > 0) {
        failures.push(
          `  ${file}: ${percent(coverage.hit, coverage.found)} of lines; uncovered: ${lineRanges(coverage.uncovered)}`,
        );
      }
    }
    report.push(`  ${folder}: ${percent(hit, found)} of lines (${hit}/${found})`);
  }
  if (failures.length > 0) {
    report.push(
      `coverage: FAILED: these files of ${HELD_FOLDERS.join(", ")} are under 100% of lines:`,
    );
    report.push(...failures);
  } else {
    report.push(`coverage: every file of ${HELD_FOLDERS.join(", ")} covers 100% of its lines`);
  }
  return { ok: failures.length === 0, report };
}

if (import.meta.main) {
  const root = resolve(import.meta.dir, "../..");
  const lcovPath = resolve(process.argv[2] ?? join(root, "coverage/lcov.info"));
  let text: string;
  try {
    text = readFileSync(lcovPath, "utf8");
  } catch {
    console.error(`coverage: no lcov report at ${relative(process.cwd(), lcovPath) || lcovPath}`);
    console.error("coverage: run `bun test --coverage --coverage-reporter=lcov` first");
    process.exit(1);
  }
  const { ok, report } = checkCoverage(text, root);
  for (const line of report) console.log(line);
  process.exit(ok ? 0 : 1);
}
