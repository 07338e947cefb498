import type { ErrorCode } from "../domain/errors.ts";
import type { AuthenticatedActor } from "../domain/types.ts";
import type { Logger } from "../lib/logger.ts";
import type { AuthDeps } from "../services/context.ts";
import type { Readiness } from "../services/health.ts";

/** What the HTTP app is built from, once, at start-up. */
export interface HttpDeps {
  services: AuthDeps;
  logger: Logger;
  /** The readiness service, bound to its dependencies. */
  readiness: () => Promise<Readiness>;
  production: boolean;
  allowedOrigins: string[];
  /** Proxies in front whose X-Forwarded-For entries are trusted (0: use the connection). */
  trustProxyHops: number;
}

export interface AppVariables {
  requestId: string;
  /** This request's logger: every line carries the request id. */
  logger: Logger;
  deps: HttpDeps;
  /** Set by the error handler, for the request log line. */
  errorCode?: ErrorCode;
  /** Set by `requireAuth` on protected routes. */
  actor?: AuthenticatedActor;
}

export type AppEnv = { Variables: AppVariables };

/** The environment of handlers behind `requireAuth`: the caller is known. */
export type AuthEnv = { Variables: AppVariables & { actor: AuthenticatedActor } };
