/** The request body is larger than the endpoint accepts (HTTP 413). */
export class PayloadTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`ERR request body exceeds ${limit} bytes`);
    this.name = "PayloadTooLargeError";
  }
}

/**
 * The whole body, refusing more than `limit` bytes: at once when Content-Length says so,
 * otherwise as soon as the stream (chunked, or lying) goes past it.
 */
export async function readBodyWithLimit(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw new PayloadTooLargeError(limit);
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLargeError(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
