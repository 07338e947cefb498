import { type Config, loadConfig } from "../../src/core/config/config.ts";
import { type AppType, createApp } from "../../src/core/http/app.ts";
import type { HttpDeps } from "../../src/core/http/env.ts";
import { buildSharedStores } from "../../src/core/wiring/services.ts";
import { type CallOptions, call, callOn, httpDepsFor, type Reply } from "../support/app.ts";
import { TEST_ENV, type TestContext, testContext, testDatabase } from "../support/database.ts";
import { type EmailCapture, startEmailCapture } from "../support/email-capture.ts";
import { uniqueName } from "../support/fixtures.ts";
import { captureLogs, type LogLine } from "../support/logs.ts";
import {
  freePort,
  type ServerProcess,
  startServer,
  stopServer,
  waitUntilReady,
} from "../support/process.ts";

/**
 * What the security suite reads from the API's own description: the operations of
 * /openapi.json, so a route added later is walked by every test that enumerates them (and a
 * test fails until the new route has a case).
 */

interface OpenApiParameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
}

export interface OpenApiOperation {
  method: string;
  /** As documented, e.g. `/accounts/{id}`. */
  path: string;
  operationId?: string;
  parameters: OpenApiParameter[];
  /** Whether it declares a bearer security requirement. */
  authenticated: boolean;
  /** The documented response statuses. */
  statuses: string[];
  /** The request body's JSON schema, if any. */
  requestSchema?: Record<string, unknown>;
}

interface RawOperation {
  operationId?: string;
  parameters?: OpenApiParameter[];
  security?: unknown[];
  responses: Record<string, unknown>;
  requestBody?: { content?: Record<string, { schema?: Record<string, unknown> }> };
}

interface OpenApiDocument {
  paths: Record<string, Record<string, RawOperation>>;
  components?: { schemas?: Record<string, Record<string, unknown>> };
}

export async function openApiDocument(): Promise<OpenApiDocument> {
  const reply = await call<OpenApiDocument>("GET", "/openapi.json");
  if (reply.status !== 200) throw new Error(`GET /openapi.json: ${reply.status}`);
  return reply.body;
}

export async function openApiOperations(): Promise<OpenApiOperation[]> {
  const document = await openApiDocument();
  return Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations).map(([method, operation]) => ({
      method: method.toUpperCase(),
      path,
      operationId: operation.operationId,
      parameters: operation.parameters ?? [],
      authenticated: (operation.security ?? []).length > 0,
      statuses: Object.keys(operation.responses),
      requestSchema: operation.requestBody?.content?.["application/json"]?.schema,
    })),
  );
}

/** `METHOD /path/{param}`: how the cases of a test are keyed. */
export const operationKey = (operation: { method: string; path: string }) =>
  `${operation.method} ${operation.path}`;

/** A Connect unary call in the JSON protocol over the app's HTTP port (REST's `call`). */
export function connectCall(method: string, body: unknown, token?: string) {
  return call<{ code?: string; message?: string } & Record<string, unknown>>(
    "POST",
    `/pb.SimpleBank/${method}`,
    { body, token, headers: { "Connect-Protocol-Version": "1" } },
  );
}

export interface Bank {
  app: AppType;
  config: Config;
  services: TestContext;
  logs: LogLine[];
  request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: CallOptions,
  ): Promise<Reply<T>>;
  /** Registers a user on this app and logs in. */
  signUp(): Promise<BankUser>;
}

export interface BankUser {
  username: string;
  password: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

/**
 * An app of its own on the run's database, configured by `env` on top of TEST_ENV (token type,
 * rate limits…), with HTTP settings `http` (trusted proxies, the connection's address…) and
 * in-process stores; its services' logs are kept.
 */
export async function bankApp(
  env: Record<string, string> = {},
  http: Partial<HttpDeps> = {},
): Promise<Bank> {
  const database = await testDatabase();
  const config = loadConfig({ ...TEST_ENV, ...env });
  const { logger, lines } = captureLogs();
  const services = testContext(config, database.handle.db, {
    logger,
    jobs: database.jobs.queue,
    stores: buildSharedStores(config, logger),
  });
  const app = createApp(httpDepsFor(services, { logger, ...http }));
  const request = <T = Record<string, unknown>>(
    method: string,
    path: string,
    options: CallOptions = {},
  ) => callOn<T>(app, method, path, options);
  return {
    app,
    config,
    services,
    logs: lines,
    request,
    async signUp() {
      const username = uniqueName("sec");
      const password = `pw-${crypto.randomUUID()}`;
      const email = `${username}@example.com`;
      const created = await request("POST", "/users", {
        body: { username, password, full_name: "Security Test", email },
      });
      if (created.status !== 201) throw new Error(`sign-up: ${JSON.stringify(created.body)}`);
      const login = await request<{
        access_token: string;
        refresh_token: string;
        session_id: string;
      }>("POST", "/users/login", { body: { username, password } });
      if (login.status !== 200) throw new Error(`login: ${JSON.stringify(login.body)}`);
      return {
        username,
        password,
        email,
        accessToken: login.body.access_token,
        refreshToken: login.body.refresh_token,
        sessionId: login.body.session_id,
      };
    },
  };
}

export interface BankProcess {
  server: ServerProcess;
  url: string;
  databaseUrl: string;
  /** The mail provider the server's job worker sends to. */
  capture: EmailCapture;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export const PROCESS_API_KEY = "re_security_suite_6f1d0c5b9a";
export const PROCESS_APP_BASE_URL = "https://bank.example.test";

/**
 * `bun src/main.ts` with its job worker on a scratch database (it migrates it), free ports,
 * resend pointed at a capture server, APP_BASE_URL set; TEST_ENV and `env` on top.
 */
export async function startBankProcess(env: Record<string, string> = {}): Promise<BankProcess> {
  const databaseUrl = await (await testDatabase()).scratchDatabase();
  const capture = startEmailCapture();
  const port = await freePort();
  const fullEnv = {
    ...TEST_ENV,
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    WORKER_ENABLED: "true",
    RESEND_API_KEY: PROCESS_API_KEY,
    RESEND_BASE_URL: capture.baseUrl,
    APP_BASE_URL: PROCESS_APP_BASE_URL,
    ...env,
  };
  const server = startServer(fullEnv);
  try {
    await waitUntilReady(server);
  } catch (error) {
    server.process.kill("SIGKILL");
    await capture.stop();
    throw error;
  }
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    databaseUrl,
    capture,
    env: fullEnv,
    async stop() {
      await stopServer(server);
      await capture.stop();
    },
  };
}
