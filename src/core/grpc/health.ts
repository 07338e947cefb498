import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import type { Database } from "../db/client.ts";
import { checkReadiness, type ReadinessProbes } from "../services/health.ts";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "./gen/grpc/health/v1/health_pb.ts";
import { SimpleBank } from "./gen/pb/service_simple_bank_pb.ts";

/**
 * The standard gRPC health service (grpc.health.v1: Check, List, Watch) for the server as a
 * whole ("") and for `pb.SimpleBank`: SERVING exactly when /readyz's checks pass (the same
 * `checkReadiness`: database, migrations, Redis when configured, not shutting down), otherwise
 * NOT_SERVING. Once `stop()` is called (shutdown began) every answer is NOT_SERVING, and every
 * Watch stream gets NOT_SERVING and ends, so draining the server does not wait on them.
 */

export interface HealthDeps {
  database: () => Database;
  readiness: ReadinessProbes;
}

export interface HealthService {
  register(router: ConnectRouter): void;
  /** Shutdown began: NOT_SERVING from now on; Watch streams say so and end. */
  stop(): void;
}

/** The services this server answers for: the whole server, and the bank. */
const SERVICES = ["", SimpleBank.typeName];

/** A readiness answer is reused this long (Check and every Watch share one database query). */
const CACHE_MS = 1_000;

export function createHealthService(
  deps: HealthDeps,
  options: { watchIntervalMs?: number } = {},
): HealthService {
  const watchIntervalMs = options.watchIntervalMs ?? 2_000;
  const stopping = new AbortController();
  let cached: { at: number; status: Promise<Status> } | undefined;

  const current = (): Promise<Status> => {
    if (stopping.signal.aborted) return Promise.resolve(Status.NOT_SERVING);
    const now = Date.now();
    if (!cached || now - cached.at > CACHE_MS) {
      const status = checkReadiness({ db: deps.database() }, deps.readiness).then(
        (readiness) => (readiness.ready ? Status.SERVING : Status.NOT_SERVING),
        () => Status.NOT_SERVING,
      );
      cached = { at: now, status };
    }
    return cached.status;
  };

  return {
    register(router) {
      router.service(Health, {
        async check(req) {
          if (!SERVICES.includes(req.service)) {
            throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
          }
          return { status: await current() };
        },
        async list() {
          const status = await current();
          return { statuses: Object.fromEntries(SERVICES.map((name) => [name, { status }])) };
        },
        async *watch(req, context) {
          if (!SERVICES.includes(req.service)) {
            // The standard: say so, and keep the stream open (the service may appear later).
            yield { status: Status.SERVICE_UNKNOWN };
            await wake(undefined, [context.signal, stopping.signal]);
            return;
          }
          let last: Status | undefined;
          while (!context.signal.aborted) {
            const status = await current();
            if (status !== last) {
              yield { status };
              last = status;
            }
            if (stopping.signal.aborted) return;
            await wake(watchIntervalMs, [context.signal, stopping.signal]);
          }
        },
      });
    },
    stop() {
      stopping.abort();
    },
  };
}

/** Resolves after `ms` (never, when undefined) or as soon as one of `signals` aborts. */
function wake(ms: number | undefined, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = ms === undefined ? undefined : setTimeout(done, ms);
    for (const signal of signals) {
      if (signal.aborted) return done();
      signal.addEventListener("abort", done);
    }
  });
}
