import type { Context } from "hono";
import type { ClientInfo } from "../domain/types.ts";
import { forwardedClientIp } from "../lib/forwarded-for.ts";
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
  return (
    forwardedClientIp(c.req.header("X-Forwarded-For"), c.var.deps.trustProxyHops) ??
    c.var.deps.connectionIp(c) ??
    "unknown"
  );
}
