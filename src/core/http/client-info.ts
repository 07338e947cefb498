import type { Context } from "hono";
import { getConnInfo } from "hono/bun";
import type { ClientInfo } from "../domain/types.ts";
import type { AppEnv } from "./env.ts";

/**
 * Who is calling, for the session row: the User-Agent, and the client IP from the connection,
 * or from X-Forwarded-For when TRUST_PROXY says how many proxies in front append to it (the
 * entry that many places from the end is the one our nearest trusted proxy saw).
 */
export function clientInfo(c: Context<AppEnv>): ClientInfo {
  return {
    userAgent: (c.req.header("User-Agent") ?? "").slice(0, 512),
    clientIp: clientIp(c).slice(0, 64),
  };
}

function clientIp(c: Context<AppEnv>): string {
  const hops = c.var.deps.trustProxyHops;
  const forwarded = c.req.header("X-Forwarded-For");
  if (hops > 0 && forwarded) {
    const chain = forwarded
      .split(",")
      .map((entry) => entry.trim())
      .filter(Boolean);
    const ip = chain[Math.max(0, chain.length - hops)];
    if (ip) return ip;
  }
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    // Not served by Bun.serve (app.request() in tests, other runtimes): no socket to read.
    return "unknown";
  }
}
