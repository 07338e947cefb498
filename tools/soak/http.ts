/**
 * The soak's HTTP client: one request to one instance, with every answer (or network failure)
 * recorded, and the rule for what may come back while faults are injected: no 5xx but 503 with
 * Retry-After, and connection errors only from an instance that was down at the time.
 */

export type Outcome =
  | { kind: "reply"; status: number; body: Record<string, unknown>; headers: Headers }
  | { kind: "network"; error: string }
  | { kind: "timeout" };

export interface Target {
  name: string;
  baseUrl: string;
  /** May this target refuse or drop connections at some time in [from, to] (epoch ms)? */
  mayBeDown(from: number, to: number): boolean;
}

const REQUEST_TIMEOUT_MS = 30_000;

export class Recorder {
  /** `op status` → count, e.g. `transfer 201`, `login network`. */
  readonly counts = new Map<string, number>();
  readonly violations: string[] = [];
  /** Every violation kind → count (the report lists the first few of each in full). */
  readonly violationKinds = new Map<string, number>();
  requests = 0;
  /** 503s seen, and how many of them carried Retry-After. */
  unavailable = 0;

  count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  violation(kind: string, detail: string): void {
    const seen = this.violationKinds.get(kind) ?? 0;
    this.violationKinds.set(kind, seen + 1);
    if (seen < 5) this.violations.push(`${kind}: ${detail}`);
  }

  get violationCount(): number {
    let total = 0;
    for (const n of this.violationKinds.values()) total += n;
    return total;
  }

  async call(
    op: string,
    target: Target,
    method: string,
    path: string,
    options: {
      token?: string;
      body?: unknown;
      headers?: Record<string, string>;
      expect: number[];
    },
  ): Promise<Outcome> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const started = Date.now();
    this.requests += 1;
    let outcome: Outcome;
    try {
      const res = await fetch(`${target.baseUrl}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await res.text();
      let body: Record<string, unknown> = {};
      try {
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        body = { text: text.slice(0, 200) };
      }
      outcome = { kind: "reply", status: res.status, body, headers: res.headers };
    } catch (error) {
      const name = error instanceof Error ? error.name : "";
      outcome =
        name === "TimeoutError" || name === "AbortError"
          ? { kind: "timeout" }
          : { kind: "network", error: describeError(error) };
    }
    const ended = Date.now();
    const what = `${method} ${path} on ${target.name}`;
    if (outcome.kind === "reply") {
      const { status, body } = outcome;
      this.count(`${op} ${status}`);
      if (status === 503) {
        this.unavailable += 1;
        if (!outcome.headers.get("retry-after")) {
          this.violation("503 without Retry-After", `${what}: ${JSON.stringify(body)}`);
        }
      } else if (status >= 500) {
        this.violation(`HTTP ${status}`, `${what}: ${JSON.stringify(body).slice(0, 300)}`);
      } else if (!options.expect.includes(status)) {
        this.violation(
          `unexpected ${status} from ${op}`,
          `${what}: ${JSON.stringify(body).slice(0, 300)}`,
        );
      }
    } else if (outcome.kind === "network") {
      this.count(`${op} network`);
      if (!target.mayBeDown(started, ended)) {
        this.violation(
          "connection error from an instance that was up",
          `${what}: ${outcome.error} after ${ended - started} ms`,
        );
      }
    } else {
      this.count(`${op} timeout`);
      this.violation("request timed out", `${what}: no answer within ${REQUEST_TIMEOUT_MS} ms`);
    }
    return outcome;
  }
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

/** A retryable answer: 503, a network failure, a timeout (and what else `also` lists). */
export function retryable(outcome: Outcome, also: number[] = []): boolean {
  return (
    outcome.kind !== "reply" || outcome.status === 503 || also.includes(outcome.status as number)
  );
}

/** How long to wait before a retry: the server's Retry-After, capped to keep the load up. */
export function backoff(outcome: Outcome, attempt: number): number {
  const header = outcome.kind === "reply" ? Number(outcome.headers.get("retry-after")) : NaN;
  const base = Number.isFinite(header) && header > 0 ? Math.min(header * 1000, 1000) : 200;
  return Math.min(base * 2 ** Math.min(attempt, 3), 2000) * (0.5 + Math.random() / 2);
}
