import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { ERROR_CODES, ERROR_TABLE } from "../../src/core/domain/error-codes.ts";
import {
  RATE_LIMIT_NAMES,
  RATE_LIMITS,
  rateLimitVariable,
} from "../../src/core/domain/rate-limits.ts";
import { statusOf } from "../../src/core/http/problem.ts";
import { PROJECT_ROOT } from "../support/process.ts";

/**
 * docs/api.md is written by hand; what it copies from the code is checked here: its table of
 * error codes (the one table in src/core/domain/error-codes.ts, statuses from problem.ts), its
 * table of rate limits (src/core/domain/rate-limits.ts), the files it names, and its links,
 * which must stay inside the repository (or be public https references).
 */

const API_MD = path.join(PROJECT_ROOT, "docs/api.md");
const text = readFileSync(API_MD, "utf8");

/** The rows of the markdown table whose header row starts with `firstHeader`, cells trimmed. */
function tableAfter(firstHeader: string): string[][] {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.startsWith(`| ${firstHeader} `));
  if (start < 0) throw new Error(`docs/api.md has no table starting with "${firstHeader}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .slice(1, -1)
        .split("|")
        .map((cell) => cell.trim()),
    );
  }
  return rows;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces as dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

function anchorsOf(markdown: string): Set<string> {
  return new Set(
    markdown
      .split("\n")
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) => anchorOf(line.replace(/^#+ /, ""))),
  );
}

describe("docs/api.md", () => {
  test("its table of error codes is the code's, in its order, with each code's status", () => {
    const expected = ERROR_CODES.map((code) => [
      `\`${code}\``,
      String(statusOf(code)),
      ERROR_TABLE[code].meaning,
    ]);
    expect(tableAfter("Code")).toEqual(expected);
  });

  test("its table of rate limits is the code's: names, variables, defaults", () => {
    const expected = RATE_LIMIT_NAMES.map((name) => [
      `\`${name}\``,
      `\`${rateLimitVariable(name)}\``,
      `\`${RATE_LIMITS[name].fallback}\``,
      RATE_LIMITS[name].counts,
    ]);
    expect(tableAfter("Limit")).toEqual(expected);
  });

  test("every file it names exists", () => {
    const named = [...text.matchAll(/`((?:src|tests|drizzle|tools|docs)\/[^`\s]+)`/g)].map(
      (match) => match[1] as string,
    );
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((file) => !existsSync(path.join(PROJECT_ROOT, file)))).toEqual([]);
  });

  test("its links stay inside the repository and land on a heading that exists", () => {
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string);
    expect(links.length).toBeGreaterThan(0);
    const broken: string[] = [];
    for (const link of links) {
      if (/^https:\/\//.test(link)) continue;
      const [file, anchor] = link.split("#") as [string, string | undefined];
      const target = file ? path.resolve(path.dirname(API_MD), file) : API_MD;
      const inside = target.startsWith(`${PROJECT_ROOT}${path.sep}`);
      if (!inside || !existsSync(target)) {
        broken.push(`${link}: not a file of the repository`);
        continue;
      }
      if (anchor && !anchorsOf(readFileSync(target, "utf8")).has(anchor)) {
        broken.push(`${link}: no heading #${anchor} in ${path.relative(PROJECT_ROOT, target)}`);
      }
    }
    expect(broken).toEqual([]);
    expect(text).not.toContain("shared/");
  });

  test("the README's section on using the API links to it", () => {
    const readme = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Using the API"));
    const end = section.indexOf("\n## ", 1);
    expect(section.slice(0, end < 0 ? undefined : end)).toContain("](docs/api.md)");
  });
});
