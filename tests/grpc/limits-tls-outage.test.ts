import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { databaseRelay } from "../support/database-relay.ts";
import { uniqueName } from "../support/fixtures.ts";
import { poll } from "../support/poll.ts";
import {
  type Bank,
  BankClient,
  bufCurl,
  grpcAccount,
  grpcCustomer,
  healthStatus,
  Status,
  scratchDatabase,
  startBank,
  watchHealth,
} from "./support.ts";

/**
 * Native gRPC against live servers set up for one thing each: rate limits on with small
 * limits (ResourceExhausted with RetryInfo, counted as REST counts them); TLS from a
 * certificate made here (a grpc-js client trusting it connects, a plain one cannot); and a
 * database that goes away under the server (health NOT_SERVING, then SERVING again).
 */

const banks: Bank[] = [];
const clients: BankClient[] = [];

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(banks.map((bank) => bank.stop()));
});

async function bankWith(env: Record<string, string>, options?: { databaseUrl?: string }) {
  const bank = await startBank(env, options);
  banks.push(bank);
  return bank;
}

function clientOf(target: string, credentials?: grpc.ChannelCredentials) {
  const client = new BankClient(target, credentials);
  clients.push(client);
  return client;
}

describe("rate limits, as REST's", () => {
  test("transfers per user, failed logins per username, password resets per address: ResourceExhausted with RetryInfo", async () => {
    const bank = await bankWith({
      RATE_LIMIT_ENABLED: "true",
      RATE_LIMIT_TRANSFERS: "2/1m",
      RATE_LIMIT_LOGIN_USERNAME: "2/15m",
      RATE_LIMIT_PASSWORD_RESET_EMAIL: "2/1h",
    });
    const client = clientOf(bank.grpcTarget);
    const [alice, bob] = [
      await grpcCustomer(client, bank.sql),
      await grpcCustomer(client, bank.sql),
    ];
    const banker = await grpcCustomer(client, bank.sql, "banker");
    const [from, to] = [await grpcAccount(client, alice), await grpcAccount(client, bob)];
    await client.call("Deposit", { account_id: from, amount: "1000", currency: "USD" }, banker);

    const transfer = { from_account_id: from, to_account_id: to, amount: "1", currency: "USD" };
    await client.call("CreateTransfer", transfer, alice);
    await client.call("CreateTransfer", transfer, alice);
    const limited = await client.fail(Status.RESOURCE_EXHAUSTED, "CreateTransfer", transfer, alice);
    expect(limited.errorInfo).toMatchObject({ reason: "rate_limited", domain: "simplebank" });
    const delay = Number(limited.retryInfo?.retryDelay?.seconds);
    expect(delay).toBeGreaterThan(0);
    expect(delay).toBeLessThanOrEqual(60);
    // Only transfers count: reading is not limited.
    await client.call("GetAccount", { id: from }, alice);

    const wrong = { username: bob.username, password: "not bob's password" };
    await client.fail(Status.UNAUTHENTICATED, "LoginUser", wrong);
    await client.fail(Status.UNAUTHENTICATED, "LoginUser", wrong);
    const locked = await client.fail(Status.RESOURCE_EXHAUSTED, "LoginUser", wrong);
    expect(locked.errorInfo?.reason).toBe("rate_limited");
    expect(Number(locked.retryInfo?.retryDelay?.seconds)).toBeGreaterThan(0);

    // An address nobody has counts as a known one does: the limit tells nothing either.
    const reset = { email: "nobody-at-all@example.com" };
    expect(await client.call("RequestPasswordReset", reset)).toEqual({});
    expect(await client.call("RequestPasswordReset", reset)).toEqual({});
    const flooded = await client.fail(Status.RESOURCE_EXHAUSTED, "RequestPasswordReset", reset);
    expect(flooded.errorInfo?.reason).toBe("rate_limited");
    expect(Number(flooded.retryInfo?.retryDelay?.seconds)).toBeGreaterThan(0);
  }, 60_000);
});

/** A self-signed certificate for localhost and 127.0.0.1: made with openssl, else the fixture. */
async function certificate(dir: string): Promise<{ cert: string; key: string; made: string }> {
  const openssl = Bun.which("openssl");
  if (openssl) {
    const [cert, key] = [path.join(dir, "cert.pem"), path.join(dir, "key.pem")];
    const run = Bun.spawnSync(
      [
        openssl,
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        cert,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    if (run.exitCode === 0) return { cert, key, made: "openssl" };
  }
  const fixtures = path.join(import.meta.dir, "fixtures");
  return {
    cert: path.join(fixtures, "localhost-cert.pem"),
    key: path.join(fixtures, "localhost-key.pem"),
    made: "the checked-in test-only pair",
  };
}

describe("TLS", () => {
  test("GRPC_TLS_CERT / GRPC_TLS_KEY: native gRPC speaks TLS; a grpc-js client trusting the certificate connects, a plaintext one cannot", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "grpc-tls-"));
    try {
      const { cert, key, made } = await certificate(dir);
      console.info(`[grpc] TLS certificate: ${made}`);
      const bank = await bankWith({ GRPC_TLS_CERT: cert, GRPC_TLS_KEY: key });
      expect(bank.server.output()).toContain(`serving gRPC on TLS port ${bank.grpcPort}`);

      const ca = await readFile(cert);
      // By name: grpc-js under Bun cannot send an IP address as the TLS server name.
      const secure = clientOf(`localhost:${bank.grpcPort}`, grpc.credentials.createSsl(ca));
      expect(await healthStatus(secure)).toBe("SERVING");
      const customer = await grpcCustomer(secure, bank.sql);
      const { accounts } = await secure.call("ListAccounts", {}, customer);
      expect(accounts ?? []).toEqual([]);

      if (made === "openssl") {
        // Trusting another certificate: the handshake fails.
        const other = await certificate(await mkdtemp(path.join(dir, "other-")));
        const wary = clientOf(
          `localhost:${bank.grpcPort}`,
          grpc.credentials.createSsl(await readFile(other.cert)),
        );
        const rejected = await wary.reply("Check", { service: "" }, {}, wary.health);
        expect(rejected.error?.code).toBe(Status.UNAVAILABLE);
      }

      const plain = clientOf(bank.grpcTarget);
      const refused = await plain.reply("Check", { service: "" }, {}, plain.health);
      expect(refused.error?.code).toBe(Status.UNAVAILABLE);

      // buf curl over https, trusting the same certificate, through reflection.
      const listed = await bufCurl([
        "--protocol",
        "grpc",
        "--cacert",
        cert,
        "--list-services",
        `https://localhost:${bank.grpcPort}`,
      ]);
      expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: "" });
      expect(listed.stdout).toContain("pb.SimpleBank");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("health follows the database", () => {
  test("the database unreachable: NOT_SERVING (Check and Watch), while the process lives; SERVING again once it is back", async () => {
    const relay = await databaseRelay(await scratchDatabase());
    await relay.open();
    try {
      const bank = await bankWith({ WORKER_ENABLED: "false" }, { databaseUrl: relay.url });
      const client = clientOf(bank.grpcTarget);
      expect(await healthStatus(client)).toBe("SERVING");
      const watch = watchHealth(client, "pb.SimpleBank");
      await watch.until("SERVING");

      await relay.close();
      await poll(
        "Check says NOT_SERVING",
        async () => (await healthStatus(client)) === "NOT_SERVING",
        {
          timeoutMs: 15_000,
          intervalMs: 200,
        },
      );
      await watch.until("NOT_SERVING");
      // The bank's calls are Unavailable meanwhile, with RetryInfo (never Internal).
      const down = await client.fail(Status.UNAVAILABLE, "LoginUser", {
        username: uniqueName("nobody"),
        password: "long enough password",
      });
      expect(down.errorInfo?.reason).toBe("unavailable");
      expect(Number(down.retryInfo?.retryDelay?.seconds)).toBeGreaterThan(0);

      await relay.open();
      await poll(
        "Check says SERVING again",
        async () => (await healthStatus(client)) === "SERVING",
        {
          timeoutMs: 15_000,
          intervalMs: 200,
        },
      );
      await poll(
        "Watch says SERVING again",
        () => watch.statuses.lastIndexOf("SERVING") > watch.statuses.indexOf("NOT_SERVING"),
        {
          timeoutMs: 15_000,
        },
      );
      expect(watch.statuses).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);
      watch.cancel();
      expect(bank.server.process.exitCode).toBeNull();
    } finally {
      await relay.close();
    }
  }, 60_000);
});
