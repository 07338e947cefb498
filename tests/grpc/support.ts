import path from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { anyIs, anyUnpack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import postgres from "postgres";
import {
  type BadRequest,
  BadRequestSchema,
  type ErrorInfo,
  ErrorInfoSchema,
  type RetryInfo,
  RetryInfoSchema,
} from "../../src/core/grpc/gen/google/rpc/error_details_pb.ts";
import { StatusSchema } from "../../src/core/grpc/gen/google/rpc/status_pb.ts";
import { TEST_ENV, testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { poll } from "../support/poll.ts";
import {
  freePort,
  PROJECT_ROOT,
  type ServerProcess,
  startServer,
  waitUntilReady,
} from "../support/process.ts";

/**
 * The gRPC tests' helpers: a live `bun src/main.ts` on free ports (HTTP and GRPC_PORT), and a
 * gRPC client nobody of us wrote: @grpc/grpc-js with @grpc/proto-loader reading the .proto
 * files in proto/ (never the generated TypeScript). The one thing read with protobuf-es is
 * `grpc-status-details-bin` (google.rpc.Status and its details, vendored googleapis protos).
 */

const PROTO_DIR = path.join(PROJECT_ROOT, "proto");
const BUF = path.join(PROJECT_ROOT, "node_modules/.bin/buf");

/** gRPC status codes as numbers (grpc-js's `status`). */
export const Status = grpc.status;

export interface Bank {
  server: ServerProcess;
  httpUrl: string;
  grpcPort: number;
  /** host:port of native gRPC. */
  grpcTarget: string;
  databaseUrl: string;
  sql: postgres.Sql;
  /** Kills the process if still running, closes `sql`. */
  stop(): Promise<void>;
}

let scratch: Promise<string> | undefined;

/** One scratch database for every bank of a test file (each DROP forces a checkpoint). */
export function scratchDatabase(): Promise<string> {
  scratch ??= testDatabase().then((database) => database.scratchDatabase());
  return scratch;
}

/**
 * `bun src/main.ts` on free ports, on `databaseUrl` (the file's scratch database by default;
 * the server migrates it), with TEST_ENV (rate limits off) and `env` on top; waits for /readyz.
 */
export async function startBank(
  env: Record<string, string> = {},
  options: { databaseUrl?: string } = {},
): Promise<Bank> {
  const databaseUrl = options.databaseUrl ?? (await scratchDatabase());
  const [port, grpcPort] = [await freePort(), await freePort()];
  const server = startServer({
    ...TEST_ENV,
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    GRPC_PORT: String(grpcPort),
    ...env,
  });
  try {
    await waitUntilReady(server);
  } catch (error) {
    server.process.kill("SIGKILL");
    throw error;
  }
  const sql = postgres(databaseUrl, { max: 3, onnotice: () => {} });
  return {
    server,
    httpUrl: `http://127.0.0.1:${port}`,
    grpcPort,
    grpcTarget: `127.0.0.1:${grpcPort}`,
    databaseUrl,
    sql,
    async stop() {
      if (server.process.exitCode === null) server.process.kill("SIGKILL");
      await server.process.exited;
      await sql.end();
    },
  };
}

const packageDefinition = protoLoader.loadSync(
  ["pb/service_simple_bank.proto", "grpc/health/v1/health.proto"],
  {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    // int64 as decimal strings: exact beyond 2^53 both ways.
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  },
);
// biome-ignore lint/suspicious/noExplicitAny: grpc-js's loaded packages are untyped by design.
const loaded = grpc.loadPackageDefinition(packageDefinition) as any;

// biome-ignore lint/suspicious/noExplicitAny: messages as proto-loader gives them.
export type Msg = Record<string, any>;

export interface CallOptions {
  /** An access token: sent as `authorization: Bearer <token>`. */
  token?: string;
  metadata?: Record<string, string>;
}

/** A completed call: its response, or its error; the response headers and trailers either way. */
export interface Reply {
  response?: Msg;
  error?: grpc.ServiceError;
  headers: grpc.Metadata;
  trailers: grpc.Metadata;
}

/** A grpc-js client of `pb.SimpleBank` (and grpc.health.v1.Health) at `target`. */
export class BankClient {
  readonly bank: grpc.Client;
  readonly health: grpc.Client;

  constructor(target: string, credentials = grpc.credentials.createInsecure(), options = {}) {
    this.bank = new loaded.pb.SimpleBank(target, credentials, options);
    this.health = new loaded.grpc.health.v1.Health(target, credentials, options);
  }

  /** Calls `method` and settles with everything the client saw, never rejecting. */
  reply(
    method: string,
    request: Msg,
    options: CallOptions = {},
    client = this.bank,
  ): Promise<Reply> {
    const metadata = new grpc.Metadata();
    if (options.token) metadata.set("authorization", `Bearer ${options.token}`);
    for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
    return new Promise((resolve) => {
      let headers = new grpc.Metadata();
      let settled: Pick<Reply, "response" | "error"> | undefined;
      let trailers: grpc.Metadata | undefined;
      const finish = () => {
        if (settled && trailers) resolve({ ...settled, headers, trailers });
      };
      // biome-ignore lint/suspicious/noExplicitAny: a method of the loaded service.
      const fn = (client as any)[method];
      if (typeof fn !== "function") throw new Error(`no method ${method}`);
      const call = fn.call(
        client,
        request,
        metadata,
        { deadline: Date.now() + 20_000 },
        (error: grpc.ServiceError | null, response: Msg) => {
          settled = error ? { error } : { response };
          finish();
        },
      );
      call.on("metadata", (md: grpc.Metadata) => {
        headers = md;
      });
      call.on("status", (status: grpc.StatusObject) => {
        trailers = status.metadata;
        finish();
      });
    });
  }

  /** The response of a call that must succeed. */
  async call(method: string, request: Msg, options: CallOptions = {}): Promise<Msg> {
    const { response, error } = await this.reply(method, request, options);
    if (error) throw new Error(`${method}: ${Status[error.code]} ${error.details}`);
    return response as Msg;
  }

  /** The error of a call that must fail with `code`, its google.rpc details decoded. */
  async fail(
    code: grpc.status,
    method: string,
    request: Msg,
    options: CallOptions = {},
  ): Promise<Failure> {
    const { response, error } = await this.reply(method, request, options);
    if (!error)
      throw new Error(`${method}: expected ${Status[code]}, got ${JSON.stringify(response)}`);
    if (error.code !== code) {
      throw new Error(
        `${method}: expected ${Status[code]}, got ${Status[error.code]} ${error.details}`,
      );
    }
    return failureOf(error);
  }

  close(): void {
    this.bank.close();
    this.health.close();
  }
}

/** A failed call's status with the details of its grpc-status-details-bin. */
export interface Failure {
  code: grpc.status;
  message: string;
  errorInfo?: ErrorInfo;
  badRequest?: BadRequest;
  retryInfo?: RetryInfo;
  /** Field → description of BadRequest's field violations. */
  violations: Record<string, string>;
}

function failureOf(error: grpc.ServiceError): Failure {
  const [bin] = error.metadata.get("grpc-status-details-bin");
  const failure: Failure = { code: error.code, message: error.details, violations: {} };
  if (!bin) return failure;
  const status = fromBinary(StatusSchema, bin as Buffer);
  if (status.code !== error.code)
    throw new Error(`status details say ${status.code}, not ${error.code}`);
  for (const any of status.details) {
    if (anyIs(any, ErrorInfoSchema)) failure.errorInfo = anyUnpack(any, ErrorInfoSchema);
    if (anyIs(any, BadRequestSchema)) failure.badRequest = anyUnpack(any, BadRequestSchema);
    if (anyIs(any, RetryInfoSchema)) failure.retryInfo = anyUnpack(any, RetryInfoSchema);
  }
  for (const v of failure.badRequest?.fieldViolations ?? [])
    failure.violations[v.field] = v.description;
  return failure;
}

export interface Customer {
  username: string;
  password: string;
  email: string;
  token: string;
  refreshToken: string;
  sessionId: string;
}

/** Signs up and logs in over native gRPC; a banker is made one in SQL first (as the CLI would). */
export async function grpcCustomer(
  client: BankClient,
  sql: postgres.Sql,
  role: "depositor" | "banker" = "depositor",
): Promise<Customer> {
  const username = uniqueName("g");
  const password = `pw-${crypto.randomUUID()}`;
  const email = `${username}@example.com`;
  await client.call("CreateUser", { username, password, full_name: "Grpc Customer", email });
  if (role === "banker") await sql`update users set role = 'banker' where username = ${username}`;
  const login = await client.call("LoginUser", { username, password });
  return {
    username,
    password,
    email,
    token: login.access_token,
    refreshToken: login.refresh_token,
    sessionId: login.session_id,
  };
}

/** A USD account of `customer`, opened over gRPC; its id. */
export async function grpcAccount(client: BankClient, customer: Customer): Promise<string> {
  const { account } = await client.call("CreateAccount", { currency: "USD" }, customer);
  return String(account.id);
}

/** Health's Check for `service` (the whole server when empty). */
export async function healthStatus(client: BankClient, service = ""): Promise<string> {
  const { response, error } = await client.reply("Check", { service }, {}, client.health);
  if (error) throw new Error(`Check: ${Status[error.code]} ${error.details}`);
  return String(response?.status);
}

/** Watch for `service`: every status it sends, and how it ended. */
export function watchHealth(client: BankClient, service = "") {
  const statuses: string[] = [];
  // biome-ignore lint/suspicious/noExplicitAny: a method of the loaded service.
  const stream = (client.health as any).Watch({ service }) as grpc.ClientReadableStream<Msg>;
  const ended = new Promise<{ code: grpc.status; details: string }>((resolve) => {
    stream.on("status", (status: grpc.StatusObject) => resolve(status));
  });
  stream.on("data", (message: Msg) => statuses.push(String(message.status)));
  stream.on("error", () => {});
  return {
    statuses,
    ended,
    /** Waits until `status` was sent. */
    until: (status: string, timeoutMs = 15_000) =>
      poll(`health Watch sends ${status}`, () => statuses.includes(status), { timeoutMs }),
    cancel: () => stream.cancel(),
  };
}

/** Runs `buf curl` (the npm buf CLI) with `args`; its exit code and output. */
export async function bufCurl(args: string[]) {
  const child = Bun.spawn([BUF, "curl", ...args], { stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code, stdout, stderr };
}
