import fc from "fast-check";
import { targetApp } from "../app.ts";
import { requestArbitrary } from "./generators.ts";
import type { Api, Operation } from "./openapi.ts";
import { check, describe, type Exchange, send, track } from "./properties.ts";
import type { World } from "./world.ts";

/**
 * The fuzz pass's settings, from the environment `bun run fuzz` (tools/fuzz/main.ts) sets; a
 * plain `bun test` gets the short fixed-seed pass.
 */
export interface FuzzOptions {
  seed: number;
  /** fast-check's counterexample path: with `seed`, replays one failing case at once. */
  path: string | undefined;
  /** Runs per operation. */
  runs: number;
  /** A time box for the whole pass (shared between operations by `fuzzWeight`), or none. */
  timeMs: number | undefined;
  /** Only the operation with this label (e.g. "POST /transfers"). */
  only: string | undefined;
  /** Print each operation's runs and the statuses it saw. */
  verbose: boolean;
}

const DEFAULT_SEED = 20261202;
const DEFAULT_RUNS = 20;

export function fuzzOptions(env: Record<string, string | undefined>): FuzzOptions {
  const number = (name: string) => {
    const value = env[name];
    if (value === undefined || value === "") return undefined;
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${value}`);
    return n;
  };
  const timeMs = number("FUZZ_TIME_MS");
  return {
    seed: number("FUZZ_SEED") ?? DEFAULT_SEED,
    path: env.FUZZ_PATH || undefined,
    // With a time box and no run count, runs go on until the time is up.
    runs: number("FUZZ_RUNS") ?? (timeMs ? 1_000_000 : DEFAULT_RUNS),
    timeMs,
    only: env.FUZZ_OP || undefined,
    verbose: env.FUZZ_VERBOSE === "1",
  };
}

/**
 * An operation's share of a time box: more for what takes more input (parameters, a body) and
 * for writes, so the time is not spent on /healthz.
 */
export function fuzzWeight(operation: Operation): number {
  return (
    1 +
    operation.parameters.length +
    (operation.body ? 3 : 0) +
    (operation.method === "GET" ? 0 : 2) +
    (operation.secured ? 1 : 0)
  );
}

/** Thrown by the property: the exchange that broke it and how. */
class PropertyBroken extends Error {
  constructor(
    readonly exchange: Exchange,
    readonly failures: string[],
    /** How many requests were sent at once with it. */
    readonly batch: number,
  ) {
    super(failures.join("; "));
  }
}

export interface FuzzResult {
  runs: number;
  ms: number;
  /** How many responses of each status the pass saw. */
  statuses: Record<number, number>;
}

/**
 * Runs the property on `operation`'s requests; on failure throws with the shrunk counterexample
 * as a replayable case: the command with seed and path, and the request as curl would send it.
 */
export async function fuzzOperation(
  api: Api,
  world: World,
  operation: Operation,
  options: FuzzOptions,
  timeMs: number | undefined,
): Promise<FuzzResult> {
  const started = Date.now();
  const statuses: Record<number, number> = {};
  // Writes go in concurrent batches of up to four (one is the common case): races between
  // transfers, cash, idempotency keys and logouts happen inside one property run.
  const request = requestArbitrary(operation, world.pools, api.resolve);
  const batch =
    operation.method === "GET"
      ? request.map((one) => [one])
      : fc.oneof(
          { weight: 3, arbitrary: request.map((one) => [one]) },
          { weight: 1, arbitrary: fc.array(request, { minLength: 2, maxLength: 4 }) },
        );
  const property = fc.asyncProperty(batch, async (requests) => {
    const exchanges = await Promise.all(requests.map((one) => send(world, operation, one)));
    for (const exchange of exchanges) {
      statuses[exchange.status] = (statuses[exchange.status] ?? 0) + 1;
      track(world, operation, exchange);
    }
    // Concurrent changes finish in an order the replies do not tell: the database does.
    if (operation.method === "PATCH" && exchanges.some((e) => e.status === 200)) {
      await world.refreshEmails();
    }
    for (const exchange of exchanges) {
      const failures = check(world, operation, exchange);
      if (failures.length > 0) {
        throw new PropertyBroken(exchange, failures, exchanges.length);
      }
    }
  });
  const details = await fc.check(property, {
    seed: options.seed,
    path: options.path,
    numRuns: options.runs,
    endOnFailure: options.path !== undefined,
    plugins: timeMs ? [fc.interruptAfterTimeLimit(timeMs)] : [],
  });
  const ms = Date.now() - started;
  if (!details.failed) return { runs: details.numRuns, ms, statuses };
  const error = details.errorInstance;
  const replay = [
    "bun run fuzz",
    `--op '${operation.label}'`,
    `--seed ${details.seed}`,
    details.counterexamplePath ? `--path '${details.counterexamplePath}'` : "",
  ].join(" ");
  const lines = [
    `${operation.label}: a property failed after ${details.numRuns} runs (shrunk ${details.numShrinks} times)`,
    `  replay: ${replay}`,
  ];
  if (error instanceof PropertyBroken) {
    lines.push(...error.failures.map((f) => `  ✗ ${f}`), describe(error.exchange));
    if (error.batch > 1) lines.push(`  (one of ${error.batch} requests sent at once)`);
  } else {
    lines.push(
      `  error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
  throw new Error(lines.join("\n"));
}

/**
 * Each case (a documented path, a method it does not document) as nobody and as a banker:
 * 405 problem+json `method_not_allowed` with `Allow` listing every documented method. Path
 * parameters get values from the pools. The failures, described.
 */
export async function wrongMethods(
  cases: { path: string; method: string; methods: Set<string> }[],
  world: World,
): Promise<string[]> {
  const app = await targetApp();
  const failures: string[] = [];
  const banker = await world.tokenOf("banker");
  for (const { path, method, methods } of cases) {
    const target = path
      .replace("{code}", "not_found")
      .replace("{username}", world.actors.alice.user.username)
      .replace(/\{[^}]+\}/g, String(world.pools.own.alice[0]));
    for (const token of [undefined, banker]) {
      const res = await app.request(target, {
        method,
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
      const text = await res.text();
      const allow = new Set((res.headers.get("Allow") ?? "").split(/,\s*/).filter(Boolean));
      const type = res.headers.get("Content-Type") ?? "";
      const missing = [...methods].filter((m) => !allow.has(m));
      const code = type.startsWith("application/problem+json") ? JSON.parse(text).code : undefined;
      if (res.status !== 405 || missing.length > 0 || code !== "method_not_allowed") {
        failures.push(
          `${method} ${target}${token ? " (banker)" : ""} → ${res.status} Allow: ${res.headers.get("Allow")} ${text.slice(0, 200)}`,
        );
      }
    }
  }
  return failures;
}
