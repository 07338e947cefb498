import { createHash } from "node:crypto";

/**
 * Upstash scripts start with `#!lua flags=allow-key-locking`; stock Redis 7 knows only the
 * flags below and rejects the script ("Unexpected flag in script shebang"). We keep the flags
 * Redis knows and drop the rest. The script Redis caches then has another SHA1 than the one
 * the client computed, so we remember original → rewritten for EVALSHA and SCRIPT EXISTS.
 */
const REDIS_SCRIPT_FLAGS = new Set([
  "no-writes",
  "allow-oom",
  "allow-stale",
  "no-cluster",
  "allow-cross-slot-keys",
]);

/** The script with its shebang's unknown flags removed; undefined when nothing changes. */
export function rewriteShebang(script: string): string | undefined {
  if (!script.startsWith("#!")) return undefined;
  const newline = script.indexOf("\n");
  const line = newline === -1 ? script : script.slice(0, newline);
  const rest = newline === -1 ? "" : script.slice(newline);
  const [engine, ...options] = line.slice(2).trim().split(/\s+/);
  if (engine !== "lua") return undefined; // not ours to fix: Redis says what is wrong
  let changed = false;
  const kept: string[] = [];
  for (const option of options) {
    if (!option.startsWith("flags=")) {
      kept.push(option);
      continue;
    }
    const flags = option.slice("flags=".length).split(",").filter(Boolean);
    const known = flags.filter((flag) => REDIS_SCRIPT_FLAGS.has(flag));
    if (known.length !== flags.length) changed = true;
    if (known.length > 0) kept.push(`flags=${known.join(",")}`);
  }
  if (!changed) return undefined;
  return `#!${["lua", ...kept].join(" ")}${rest}`;
}

export function sha1Hex(data: string | Uint8Array): string {
  return createHash("sha1").update(data).digest("hex");
}

/** Remembers which SHA1 each rewritten script has in Redis. */
export class ScriptShaMap {
  private readonly rewrittenSha = new Map<string, string>();

  constructor(private readonly maxEntries = 10_000) {}

  /**
   * For EVAL / SCRIPT LOAD: the script to send to Redis (rewritten if needed) and the SHA1 of
   * the script as the client sent it.
   */
  prepare(script: string | Uint8Array): { script: string | Uint8Array; originalSha: string } {
    const originalSha = sha1Hex(script);
    const text =
      typeof script === "string" ? script : startsWithShebang(script) ? decode(script) : undefined;
    const rewritten = text === undefined ? undefined : rewriteShebang(text);
    if (rewritten === undefined) return { script, originalSha };
    if (this.rewrittenSha.size >= this.maxEntries) this.rewrittenSha.clear();
    this.rewrittenSha.set(originalSha, sha1Hex(rewritten));
    return { script: rewritten, originalSha };
  }

  /** For EVALSHA / SCRIPT EXISTS: the SHA1 Redis knows the script by. Unknown SHAs pass. */
  resolve(sha: string): string {
    return this.rewrittenSha.get(sha.toLowerCase()) ?? sha;
  }
}

function startsWithShebang(bytes: Uint8Array): boolean {
  return bytes[0] === 0x23 && bytes[1] === 0x21; // "#!"
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
