import { parse } from "yaml";

/**
 * docker-compose.yml as Compose reads it, without Compose: YAML with merge keys (`<<: *anchor`),
 * then every string value interpolated from the environment (Compose reads the shell's and
 * `.env`'s variables) before the schema sees it.
 */

export type Variables = Record<string, string | undefined>;

interface ComposeHealthcheck {
  test?: string | string[];
  disable?: boolean;
}

export interface ComposeService {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: string | (string | { path: string; required?: boolean | string })[];
  depends_on?: string[] | Record<string, { condition?: string; required?: boolean }>;
  healthcheck?: ComposeHealthcheck;
  ports?: (string | number | { target: number; published?: string | number })[];
  volumes?: (string | { type?: string; source?: string; target: string })[];
  restart?: string;
}

export interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  [extension: `x-${string}`]: unknown;
}

/** Compose's interpolation of one string: `$$`, `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`. */
export function interpolate(text: string, variables: Variables): string {
  const result = text.replace(
    /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-)([^${}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_whole, dollar, braced, operator, fallback, bare) => {
      if (dollar) return "\u0000"; // a literal $, put back below (never re-read as a variable)
      const value = variables[braced ?? bare];
      if (operator === ":-") return value ? value : fallback;
      if (operator === "-") return value ?? fallback;
      return value ?? "";
    },
  );
  if (/\$\{/.test(result)) {
    throw new Error(`unsupported interpolation (nested, or :? / ?) in "${text}"`);
  }
  return result.replaceAll("\u0000", "$");
}

function interpolateAll(value: unknown, variables: Variables): unknown {
  if (typeof value === "string") return interpolate(value, variables);
  if (Array.isArray(value)) return value.map((item) => interpolateAll(item, variables));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateAll(item, variables)]),
    );
  }
  return value;
}

/** The YAML, merge keys resolved, not interpolated. */
export function parseCompose(text: string): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

/** The file as Compose uses it, with these variables (the shell's and `.env`'s). */
export function loadCompose(text: string, variables: Variables = {}): ComposeFile {
  return interpolateAll(parseCompose(text), variables) as ComposeFile;
}

/** `KEY=value` lines as Compose reads a `.env` file (comments, blank lines, optional quotes). */
export function parseDotenv(text: string): Record<string, string> {
  const entries: [string, string][] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match?.[1]) continue;
    const raw = match[2] ?? "";
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    entries.push([match[1], quoted ? (quoted[2] ?? "") : raw.replace(/\s+#.*$/, "")]);
  }
  return Object.fromEntries(entries);
}

/** A service's `environment` as a map (Compose accepts a map or `KEY=value` items). */
export function environmentOf(service: ComposeService): Record<string, string> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((item) => {
        const at = item.indexOf("=");
        return at < 0 ? [item, ""] : [item.slice(0, at), item.slice(at + 1)];
      }),
    );
  }
  return Object.fromEntries(
    Object.entries(environment).map(([key, value]) => [key, value === null ? "" : String(value)]),
  );
}

/** A service's dependencies with their conditions (the short list form means service_started). */
export function dependenciesOf(service: ComposeService): Record<string, string> {
  const dependsOn = service.depends_on ?? {};
  if (Array.isArray(dependsOn)) {
    return Object.fromEntries(dependsOn.map((name) => [name, "service_started"]));
  }
  return Object.fromEntries(
    Object.entries(dependsOn).map(([name, { condition }]) => [
      name,
      condition ?? "service_started",
    ]),
  );
}
