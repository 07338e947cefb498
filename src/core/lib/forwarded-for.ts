/**
 * The client address an `X-Forwarded-For` chain vouches for when `hops` proxies in front append
 * to it (TRUST_PROXY): the entry that many places from the end is the one our nearest trusted
 * proxy saw. Undefined when nothing is trusted (`hops` 0) or there is no usable entry: the
 * caller then takes the connection's peer. One rule for REST, Connect and native gRPC.
 */
export function forwardedClientIp(
  forwarded: string | null | undefined,
  hops: number,
): string | undefined {
  if (hops <= 0 || !forwarded) return undefined;
  const chain = forwarded
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  return chain[Math.max(0, chain.length - hops)] || undefined;
}
