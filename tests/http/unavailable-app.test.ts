import { describe, expect, test } from "bun:test";
import { createUnavailableApp } from "../../src/core/http/unavailable-app.ts";
import { expectProblem } from "../support/app.ts";

/**
 * The app a Worker with an invalid configuration serves (src/edge/isolate.ts), on its own:
 * every method and path answers 503 problem+json `unavailable` with Retry-After, under the
 * request's id. tests/edge/config.test.ts proves the Worker serves it, in workerd; this is the
 * app itself, whatever TEST_TARGET says.
 */

const DETAIL = "the service is not configured; see its log";

describe("createUnavailableApp", () => {
  test("every request: 503 unavailable, Retry-After, the detail given, and a fresh request id", async () => {
    const app = createUnavailableApp(DETAIL);
    for (const [method, path] of [
      ["GET", "/readyz"],
      ["POST", "/transfers"],
      ["DELETE", "/no/such/route"],
    ] as const) {
      const res = await app.request(path, { method });
      const body = (await res.json()) as Record<string, unknown>;
      expectProblem({ status: res.status, headers: res.headers, body }, 503, "unavailable");
      expect(res.headers.get("Retry-After")).toMatch(/^[0-9]+$/);
      expect(body.detail).toBe(DETAIL);
      const requestId = res.headers.get("X-Request-Id");
      expect(requestId).toMatch(/.+/);
      expect(body.request_id).toBe(requestId ?? "");
    }
  });

  test("a sane X-Request-Id from the client is echoed, in the header and the body", async () => {
    const res = await createUnavailableApp(DETAIL).request("/healthz", {
      headers: { "X-Request-Id": "req-from-client-42" },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("X-Request-Id")).toBe("req-from-client-42");
    expect(((await res.json()) as { request_id: string }).request_id).toBe("req-from-client-42");
  });
});
