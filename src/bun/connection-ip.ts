import type { Context } from "hono";
import { getConnInfo } from "hono/bun";

/** The socket's peer address under Bun.serve; undefined without a socket (app.request()). */
export function bunConnectionIp(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}
