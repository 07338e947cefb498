/**
 * A stand-in for resend's HTTP API, the one fake the tests allow: it sits at the true outside
 * edge, so the app still sends through the real resend SDK (`createResendMailer({ baseUrl })` or
 * RESEND_BASE_URL). It records every request and answers like resend does: `POST /emails` →
 * 200 `{"id": "..."}`; errors as `{"statusCode", "name", "message"}`. Like resend, a repeated
 * request with an Idempotency-Key that already succeeded gets the first answer back (and is not
 * delivered twice).
 */

export interface CapturedRequest {
  method: string;
  /** The path, e.g. `/emails`. */
  path: string;
  /** Every header, names in lower case. */
  headers: Record<string, string>;
  /** The Authorization header (`Bearer <api key>`), or null. */
  authorization: string | null;
  /** The Idempotency-Key header, or null. */
  idempotencyKey: string | null;
  /** The body parsed as JSON (the raw text when it is not JSON). */
  body: EmailBody;
  /** What the capture server answered. */
  status: number;
  /** The id answered on success (a replay of an idempotent request answers the first id). */
  id: string | null;
  /** True when this request delivered a new email: 2xx, and not a replay of an earlier key. */
  delivered: boolean;
  receivedAt: Date;
}

/** The fields the resend SDK sends for `emails.send` (only what the tests look at is typed). */
interface EmailBody {
  from?: string;
  to?: string[];
  subject?: string;
  html?: string;
  text?: string;
  [key: string]: unknown;
}

export interface EmailCapture {
  /** Give this to the resend SDK as its base URL (no trailing slash). */
  baseUrl: string;
  /** Every request received, oldest first (failed attempts included). */
  emails: CapturedRequest[];
  /** The requests that delivered an email. */
  delivered(): CapturedRequest[];
  /** The next `n` requests fail with `status` (500 by default) and a resend-shaped error. */
  failNext(n: number, status?: number): void;
  /**
   * The next `n` emails are delivered but their answer is lost: the caller gets a 500. A retry
   * with the same Idempotency-Key then gets the first answer back and delivers nothing new.
   */
  loseNextAnswers(n: number): void;
  /** The next `times` requests (1 by default; Infinity: until `reset`) get this answer. */
  respondWith(status: number, body: unknown, times?: number): void;
  /**
   * Like `respondWith`, but the body is sent as it is (not JSON-encoded), with `headers`: a
   * malformed or huge body, a redirect (`Location`), another content type. Nothing is delivered.
   */
  respondRaw(
    status: number,
    body: string,
    options?: { headers?: Record<string, string>; times?: number },
  ): void;
  /** Every answer waits this long first (0 by default): a slow provider. */
  delayResponses(ms: number): void;
  /** Forgets scripted answers and the delay (the recorded requests stay). */
  reset(): void;
  /** Resolves with the first request (already received or to come) matching `predicate`. */
  waitFor(
    predicate: (email: CapturedRequest) => boolean,
    timeoutMs?: number,
  ): Promise<CapturedRequest>;
  stop(): Promise<void>;
}

interface Scripted {
  status: number;
  body: unknown;
  /** Send `body` as it is (a string) with these headers, instead of as JSON. */
  raw?: { headers: Record<string, string> };
  remaining: number;
  /** Deliver (and remember the key) before answering with `status`. */
  deliverFirst?: boolean;
}

const ERROR_NAMES: Record<number, string> = {
  400: "validation_error",
  401: "missing_api_key",
  403: "invalid_api_key",
  409: "invalid_idempotent_request",
  422: "validation_error",
  429: "rate_limit_exceeded",
  500: "internal_server_error",
  503: "service_unavailable",
};

/** An error body as resend writes it. */
export function resendError(status: number, message?: string): Record<string, unknown> {
  return {
    statusCode: status,
    name: ERROR_NAMES[status] ?? "application_error",
    message: message ?? `capture server: scripted HTTP ${status}`,
  };
}

export function startEmailCapture(): EmailCapture {
  const emails: CapturedRequest[] = [];
  const scripted: Scripted[] = [];
  const answeredKeys = new Map<string, string>();
  let delayMs = 0;
  let sequence = 0;

  const nextScripted = (): Scripted | undefined => {
    const head = scripted[0];
    if (!head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) scripted.shift();
    return head;
  };

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const headers: Record<string, string> = {};
      request.headers.forEach((value, name) => {
        headers[name.toLowerCase()] = value;
      });
      const text = await request.text();
      let body: EmailBody;
      try {
        body = JSON.parse(text) as EmailBody;
      } catch {
        body = { raw: text };
      }
      const captured: CapturedRequest = {
        method: request.method,
        path: url.pathname,
        headers,
        authorization: request.headers.get("authorization"),
        idempotencyKey: request.headers.get("idempotency-key"),
        body,
        status: 0,
        id: null,
        delivered: false,
        receivedAt: new Date(),
      };
      emails.push(captured);
      if (delayMs > 0) await Bun.sleep(delayMs);

      const answer = (status: number, json: unknown) => {
        captured.status = status;
        return Response.json(json, { status });
      };
      if (request.method !== "POST" || url.pathname !== "/emails") {
        return answer(404, resendError(404, `no route ${request.method} ${url.pathname}`));
      }
      if (!captured.authorization?.startsWith("Bearer ")) {
        return answer(401, resendError(401, "Missing API key in the authorization header."));
      }
      const script = nextScripted();
      if (script?.raw) {
        captured.status = script.status;
        return new Response(String(script.body), {
          status: script.status,
          headers: script.raw.headers,
        });
      }
      if (script && !script.deliverFirst) return answer(script.status, script.body);

      const key = captured.idempotencyKey;
      const replayed = key ? answeredKeys.get(key) : undefined;
      if (replayed) {
        captured.id = replayed;
        return script ? answer(script.status, script.body) : answer(200, { id: replayed });
      }
      sequence += 1;
      const id = `captured-${sequence}-${crypto.randomUUID()}`;
      if (key) answeredKeys.set(key, id);
      captured.id = id;
      captured.delivered = true;
      return script ? answer(script.status, script.body) : answer(200, { id });
    },
  });

  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    emails,
    delivered: () => emails.filter((email) => email.delivered),
    failNext(n, status = 500) {
      scripted.push({ status, body: resendError(status), remaining: n });
    },
    loseNextAnswers(n) {
      scripted.push({ status: 500, body: resendError(500), remaining: n, deliverFirst: true });
    },
    respondWith(status, body, times = 1) {
      scripted.push({ status, body, remaining: times });
    },
    respondRaw(status, body, { headers = {}, times = 1 } = {}) {
      scripted.push({ status, body, remaining: times, raw: { headers } });
    },
    delayResponses(ms) {
      delayMs = ms;
    },
    reset() {
      scripted.length = 0;
      delayMs = 0;
    },
    async waitFor(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        // Only answered requests: a caller inspecting `status` sees the final one.
        const found = emails.find((email) => email.status !== 0 && predicate(email));
        if (found) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `no matching email within ${timeoutMs} ms; received ${emails.length}: ${JSON.stringify(
              emails.map((e) => ({ to: e.body.to, status: e.status, key: e.idempotencyKey })),
            )}`,
          );
        }
        await Bun.sleep(50);
      }
    },
    async stop() {
      await server.stop(true);
    },
  };
}
