import type { Context } from "hono";
import type { ClientInfo } from "../domain/types.ts";
import type { AppEnv } from "./env.ts";

/**
 * Who is calling, for the session row and the per-IP limits: the User-Agent, and the client IP
 * the runtime vouches for (the socket's peer on Bun, `CF-Connecting-IP` on a Worker), or the one
 * in X-Forwarded-For when TRUST_PROXY says how many proxies in front append to it (the entry
 * that many places from the end is the one our nearest trusted proxy saw).
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
  return c.var.deps.connectionIp(c) ?? "unknown";
}
