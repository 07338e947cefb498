import type { Context } from "hono";
import type { Database } from "../db/client.ts";
import type { ErrorCode } from "../domain/errors.ts";
import type { Logger } from "../lib/logger.ts";
import type { ServiceContext, Services, SessionContext } from "../services/context.ts";
import type { ReadinessProbes } from "../services/health.ts";

/** Swagger UI's files, which each runtime's entry embeds its own way (no CDN). */
export interface DocsAssets {
  bundleJs: string;
  css: string;
}

/**
 * The web console's built files by URL path ("/index.html", "/assets/index-<hash>.js"…), with
 * their content types: console/dist.json, which each runtime's entry imports.
 */
export type ConsoleAssets = Readonly<Record<string, { contentType: string; body: string }>>;

/**
 * What the HTTP app is built from, once per process (Bun) or isolate (Worker). What differs
 * between runtimes comes in as functions: the database handle of a request, the connection's
 * peer address, the docs and console assets.
 */
export interface HttpDeps {
  services: Services;
  /** The database handle for one request: the process pool (Bun), a client of its own (Worker). */
  database: () => Database;
  logger: Logger;
  readiness: ReadinessProbes;
  production: boolean;
  allowedOrigins: string[];
  /** Proxies in front whose X-Forwarded-For entries are trusted (0: use the connection). */
  trustProxyHops: number;
  /**
   * The client address the runtime vouches for: the socket's peer on Bun, `CF-Connecting-IP` on
   * a Worker; undefined when there is none (app.request() in tests).
   */
  connectionIp: (c: Context) => string | undefined;
  docsAssets: DocsAssets;
  consoleAssets: ConsoleAssets;
}

interface AppVariables {
  requestId: string;
  deps: HttpDeps;
  /** This request's service context: its database handle, and a logger carrying its id. */
  ctx: ServiceContext;
  /** Set by the error handler, for the request log line. */
  errorCode?: ErrorCode;
}

export type AppEnv = { Variables: AppVariables };

/** The environment of handlers behind `requireAuth`: the caller is known. */
export type AuthEnv = { Variables: AppVariables & { ctx: SessionContext } };
