const SANE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * A request's id: the client's own (an `X-Request-Id` header, or the `x-request-id` metadata of
 * a gRPC call) when it is sane, else a new UUID. One rule for every transport.
 */
export function requestIdFrom(incoming: string | null | undefined): string {
  return incoming && SANE_REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}
