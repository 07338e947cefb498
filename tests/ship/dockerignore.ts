import { posix } from "node:path";

/**
 * `.dockerignore` as Docker applies it (moby/patternmatcher), enough to tell whether a path of
 * the build context is sent: one pattern a line, `#` starts a comment line, `!` re-includes;
 * patterns are cleaned paths relative to the context (a leading `/` is dropped) with Go's
 * `filepath.Match` globs (`*` and `?` never cross a `/`) plus `**` for any number of folders; a
 * pattern that matches a parent folder matches everything in it; the last matching pattern wins.
 */
interface DockerignoreRule {
  pattern: string;
  negate: boolean;
  regex: RegExp;
}

function clean(path: string): string {
  const normal = posix.normalize(path).replace(/^\/+/, "").replace(/\/+$/, "");
  return normal === "." ? "" : normal;
}

const escapeRegExp = (text: string) => text.replace(/[.+^${}()|[\]\\*?]/g, "\\$&");

function globToRegExp(pattern: string): RegExp {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === "*" && pattern.charAt(i + 1) === "*") {
      i++;
      if (pattern.charAt(i + 1) === "/") {
        i++;
        out += "(?:.*/)?";
      } else {
        out += ".*";
      }
    } else if (c === "*") {
      out += "[^/]*";
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) throw new Error(`.dockerignore: unterminated [ in "${pattern}"`);
      const body = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
      out += `[${body}]`; // Go's negation is `^`, as in a RegExp
      i = end;
    } else if (c === "\\" && i + 1 < pattern.length) {
      i++;
      out += escapeRegExp(pattern.charAt(i));
    } else {
      out += escapeRegExp(c);
    }
  }
  return new RegExp(`^${out}$`);
}

export function parseDockerignore(text: string): DockerignoreRule[] {
  const rules: DockerignoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    const pattern = clean(negate ? line.slice(1).trim() : line);
    if (pattern === "") continue;
    rules.push({ pattern, negate, regex: globToRegExp(pattern) });
  }
  return rules;
}

/** Whether `path` (relative to the build context) is left out of the context. */
export function isIgnored(path: string, rules: DockerignoreRule[]): boolean {
  const parts = clean(path).split("/");
  const selfAndParents = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const rule of rules) {
    if (selfAndParents.some((candidate) => rule.regex.test(candidate))) ignored = !rule.negate;
  }
  return ignored;
}
