import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { hashSecretCode } from "../../src/core/auth/secret-codes.ts";
import {
  BadRequestSchema,
  ErrorInfoSchema,
} from "../../src/core/grpc/gen/google/rpc/error_details_pb.ts";
import { SimpleBank } from "../../src/core/grpc/gen/pb/service_simple_bank_pb.ts";
import type { LocalWorker } from "../../tools/edge/workerd.ts";
import { startEdge, stopEdges } from "../support/edge.ts";
import { uniqueName } from "../support/fixtures.ts";
import { type Bank, startBank } from "./support.ts";

/**
 * Connect (JSON and binary) and gRPC-Web on the HTTP port, with Connect's own browser clients
 * (@connectrpc/connect-web, over fetch), against the Bun server (a live `bun src/main.ts`) AND
 * the Worker in workerd: the same RPCs, the same errors with the same details, the request id
 * header, and CORS for the allowed origins only. Both run on one scratch database; a banker is
 * made in SQL before logging in, as `bun run cli grant-role` would.
 */

let bank: Bank;
let edge: LocalWorker;

beforeAll(async () => {
  // A scratch database of this file's (the Bun server migrates it; the Worker never does), so
  // the sign-ups' unsent emails are not left in the run's queue for other files' workers.
  bank = await startBank({ WORKER_ENABLED: "false" });
  edge = await startEdge({ databaseUrl: bank.databaseUrl });
}, 90_000);

afterAll(async () => {
  await bank?.stop();
  await stopEdges();
});

const TARGETS = [
  ["the Bun server", () => bank.httpUrl],
  ["the Worker", () => edge.url],
] as const;

const PROTOCOLS: [string, (baseUrl: string) => Transport][] = [
  ["Connect JSON", (baseUrl) => createConnectTransport({ baseUrl })],
  ["Connect binary", (baseUrl) => createConnectTransport({ baseUrl, useBinaryFormat: true })],
  ["gRPC-Web", (baseUrl) => createGrpcWebTransport({ baseUrl })],
];

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

describe.each(TARGETS)("on the HTTP port of %s", (_target, baseUrl) => {
  test.each(PROTOCOLS)(
    "%s: the same RPCs, the same errors",
    async (_protocol, transport) => {
      const client = createClient(SimpleBank, transport(baseUrl()));
      const signUp = async () => {
        const username = uniqueName("w");
        const password = `pw-${crypto.randomUUID()}`;
        const { user } = await client.createUser({
          username,
          password,
          fullName: "Web Customer",
          email: `${username}@example.com`,
        });
        expect(user?.username).toBe(username);
        return { username, password };
      };
      const logIn = async (who: { username: string; password: string }) => {
        const login = await client.loginUser(who);
        expect(login.user?.username).toBe(who.username);
        return login;
      };
      const [alice, bob, bankerUser] = [await signUp(), await signUp(), await signUp()];
      await bank.sql`update users set role = 'banker' where username = ${bankerUser.username}`;
      const [aliceIn, bobIn, bankerIn] = [
        await logIn(alice),
        await logIn(bob),
        await logIn(bankerUser),
      ];

      const requestIds: string[] = [];
      const { account: a } = await client.createAccount(
        { currency: "USD" },
        {
          ...bearer(aliceIn.accessToken),
          onHeader: (h) => requestIds.push(h.get("x-request-id") ?? ""),
        },
      );
      expect(requestIds[0]).toMatch(/^[0-9a-f-]{36}$/);
      const { account: b } = await client.createAccount(
        { currency: "USD" },
        bearer(bobIn.accessToken),
      );
      if (!a || !b) throw new Error("no accounts");
      expect(a.balance).toBe(0n);

      const deposit = await client.deposit(
        { accountId: a.id, amount: 50_000n, currency: "USD" },
        bearer(bankerIn.accessToken),
      );
      expect(deposit.toAccount?.balance).toBe(50_000n);

      const key = crypto.randomUUID();
      const request = { fromAccountId: a.id, toAccountId: b.id, amount: 1_500n, currency: "USD" };
      const options = {
        headers: { authorization: `Bearer ${aliceIn.accessToken}`, "idempotency-key": key },
      };
      const first = await client.createTransfer(request, options);
      const retry = await client.createTransfer(request, options);
      expect(first.replayed).toBe(false);
      expect(retry.replayed).toBe(true);
      expect(retry.transfer?.id).toBe(first.transfer?.id ?? -1n);
      expect(first.fromAccount?.balance).toBe(48_500n);
      // Bob's balance is not Alice's to see: unset, not 0.
      expect(first.toAccount?.owner).toBe(bob.username);
      expect(first.toAccount?.balance).toBeUndefined();
      expect(first.transfer?.memo).toBeUndefined();

      // Pay a person by username, with a memo: the same service as POST /transfers.
      const paid = await client.createTransfer(
        {
          fromAccountId: a.id,
          toUsername: bob.username,
          amount: 100n,
          currency: "USD",
          memo: "Lunch",
        },
        bearer(aliceIn.accessToken),
      );
      expect(paid.toAccount?.id).toBe(b.id);
      expect(paid.toAccount?.balance).toBeUndefined();
      expect(paid.transfer?.memo).toBe("Lunch");
      const nobody = await failure(
        client.createTransfer(
          { fromAccountId: a.id, toUsername: bob.username, amount: 1n, currency: "EUR" },
          bearer(aliceIn.accessToken),
        ),
      );
      // The from account's currency is checked first (contract's order).
      expect(nobody.findDetails(ErrorInfoSchema)[0]?.reason).toBe("currency_mismatch");
      const { account: aEur } = await client.createAccount(
        { currency: "EUR" },
        bearer(aliceIn.accessToken),
      );
      const noEur = await failure(
        client.createTransfer(
          { fromAccountId: aEur?.id ?? 0n, toUsername: bob.username, amount: 1n, currency: "EUR" },
          bearer(aliceIn.accessToken),
        ),
      );
      expect(noEur.code).toBe(Code.NotFound);
      expect(noEur.findDetails(ErrorInfoSchema)[0]?.reason).toBe("recipient_not_found");
      const both = await failure(
        client.createTransfer(
          { ...request, toUsername: bob.username, memo: "\u0007" },
          bearer(aliceIn.accessToken),
        ),
      );
      expect(both.code).toBe(Code.InvalidArgument);
      expect(
        both
          .findDetails(BadRequestSchema)[0]
          ?.fieldViolations.map((v) => v.field)
          .sort(),
      ).toEqual(["memo", "to_username"]);

      const read = bearer(aliceIn.accessToken);
      expect((await client.getAccount({ id: a.id }, read)).account?.balance).toBe(48_400n);
      expect((await client.listAccounts({}, read)).accounts.map((x) => x.id)).toEqual([
        a.id,
        aEur?.id ?? -1n,
      ]);
      const entries = await client.listEntries({ accountId: a.id, pageSize: 100 }, read);
      expect(entries.entries.map((e) => [e.amount, e.balanceAfter, e.kind, e.memo])).toEqual([
        [50_000n, 50_000n, "deposit", undefined],
        [-1_500n, 48_500n, "transfer_out", undefined],
        [-100n, 48_400n, "transfer_out", "Lunch"],
      ]);
      expect(entries.entries[2]?.counterpartyOwner).toBe(bob.username);
      expect(entries.hasMore).toBe(false);
      const newest = await client.listEntries({ accountId: a.id, limit: 1, order: "desc" }, read);
      expect(newest.entries.map((e) => e.balanceAfter)).toEqual([48_400n]);
      expect(newest.hasMore).toBe(true);
      const { transfer } = await client.getTransfer({ id: first.transfer?.id ?? 0n }, read);
      expect(transfer?.amount).toBe(1_500n);
      const listed = await client.listTransfers({ accountId: b.id }, bearer(bobIn.accessToken));
      expect(listed.transfers.map((t) => t.id)).toEqual([
        first.transfer?.id ?? -1n,
        paid.transfer?.id ?? -1n,
      ]);
      expect(listed.transfers.map((t) => t.memo)).toEqual([undefined, "Lunch"]);
      // No account_id: the caller's history across their accounts, newest first.
      const history = await client.listTransfers({ order: "desc", limit: 2 }, read);
      expect(history.transfers.map((t) => t.id)).toEqual([
        paid.transfer?.id ?? -1n,
        first.transfer?.id ?? -1n,
      ]);
      expect(history.hasMore).toBe(true);
      const withdrawal = await client.withdraw(
        { accountId: b.id, amount: 500n, currency: "USD" },
        bearer(bankerIn.accessToken),
      );
      expect(withdrawal.fromAccount?.balance).toBe(1_100n);

      // Errors: the gRPC code, ErrorInfo with the stable code, BadRequest with every field.
      const invalid = await failure(
        client.createUser({ username: "No Good", password: "x", fullName: "", email: "nope" }),
      );
      expect(invalid.code).toBe(Code.InvalidArgument);
      expect(invalid.findDetails(ErrorInfoSchema)[0]).toMatchObject({
        reason: "validation_failed",
        domain: "simplebank",
      });
      const fields = invalid.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field);
      expect(fields?.sort()).toEqual(["email", "full_name", "password", "username"]);
      const missing = await failure(client.getAccount({ id: a.id }));
      expect(missing.code).toBe(Code.Unauthenticated);
      const forbidden = await failure(client.getAccount({ id: a.id }, bearer(bobIn.accessToken)));
      expect(forbidden.code).toBe(Code.PermissionDenied);
      const poor = await failure(
        client.createTransfer({ ...request, amount: 10n ** 9n }, bearer(aliceIn.accessToken)),
      );
      expect(poor.code).toBe(Code.FailedPrecondition);
      expect(poor.findDetails(ErrorInfoSchema)[0]?.reason).toBe("insufficient_funds");
      const taken = await failure(
        client.createUser({
          username: bob.username,
          password: "long enough password",
          fullName: "Bob Again",
          email: `${uniqueName("x")}@example.com`,
        }),
      );
      expect(taken.code).toBe(Code.AlreadyExists);
      const link = await failure(client.verifyEmail({ emailId: 1n, secretCode: "x".repeat(32) }));
      expect(link.code).toBe(Code.FailedPrecondition);
      expect(link.findDetails(ErrorInfoSchema)[0]?.reason).toBe("verification_failed");

      // Sessions: list them, end another one; its access token is refused at once.
      const second = await logIn(alice);
      const { sessions } = await client.listSessions({}, bearer(aliceIn.accessToken));
      const current = sessions.find((x) => x.sessionId === aliceIn.sessionId);
      expect(current?.current).toBe(true);
      expect(current?.renewedAt).toBeUndefined();
      expect(sessions.find((x) => x.sessionId === second.sessionId)?.current).toBe(false);
      await client.endSession({ sessionId: second.sessionId }, bearer(aliceIn.accessToken));
      const ended = await failure(client.getAccount({ id: a.id }, bearer(second.accessToken)));
      expect(ended.code).toBe(Code.Unauthenticated);
      const again = await failure(
        client.endSession({ sessionId: second.sessionId }, bearer(aliceIn.accessToken)),
      );
      expect(again.code).toBe(Code.NotFound);
      const badId = await failure(
        client.endSession({ sessionId: "nope" }, bearer(aliceIn.accessToken)),
      );
      expect(badId.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("session_id");

      // Password reset: the same empty reply for any address; the link (minted here: this
      // file's server runs no worker) sets the password and ends every session of the user.
      await bank.sql`update users set is_email_verified = true where username = ${bob.username}`;
      await client.requestPasswordReset({ email: `${bob.username}@example.com` });
      await client.requestPasswordReset({ email: "nobody@example.com" });
      const secretCode = `${crypto.randomUUID()}${crypto.randomUUID()}`.replaceAll("-", "");
      const [reset] = await bank.sql<{ id: string }[]>`
        update password_resets
        set secret_code_hash = ${hashSecretCode(secretCode)},
            expired_at = now() + interval '15 minutes'
        where username = ${bob.username} and is_used = false
        returning id`;
      if (!reset) throw new Error("no password reset row for bob");
      const wrongCode = await failure(
        client.confirmPasswordReset({
          resetId: reset.id,
          secretCode: "x".repeat(43),
          newPassword: "a brand new password",
        }),
      );
      expect(wrongCode.code).toBe(Code.FailedPrecondition);
      expect(wrongCode.findDetails(ErrorInfoSchema)[0]?.reason).toBe("verification_failed");
      const badFields = await failure(
        client.confirmPasswordReset({ resetId: "1", secretCode: "!", newPassword: "short" }),
      );
      expect(
        badFields
          .findDetails(BadRequestSchema)[0]
          ?.fieldViolations.map((v) => v.field)
          .sort(),
      ).toEqual(["new_password", "reset_id", "secret_code"]);
      await client.confirmPasswordReset({
        resetId: reset.id,
        secretCode,
        newPassword: "a brand new password",
      });
      const bobEnded = await failure(client.listAccounts({}, bearer(bobIn.accessToken)));
      expect(bobEnded.code).toBe(Code.Unauthenticated);
      await logIn({ username: bob.username, password: "a brand new password" });

      // Last, the session: a profile change, a renewal, a logout.
      const updated = await client.updateUser(
        { username: alice.username, fullName: "Alice Web" },
        read,
      );
      expect(updated.user?.fullName).toBe("Alice Web");
      const renewed = await client.renewAccessToken({ refreshToken: aliceIn.refreshToken });
      expect(renewed.refreshToken).not.toBe(aliceIn.refreshToken);
      await client.logout({}, bearer(renewed.accessToken));
      const revoked = await failure(client.listAccounts({}, bearer(renewed.accessToken)));
      expect(revoked.code).toBe(Code.Unauthenticated);
    },
    60_000,
  );

  test("LoginUser and RenewAccessToken answer Cache-Control: no-store (the reply holds tokens)", async () => {
    const rpc = (method: string, body: unknown) =>
      fetch(`${baseUrl()}/pb.SimpleBank/${method}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Connect-Protocol-Version": "1" },
        body: JSON.stringify(body),
      });
    const username = uniqueName("w");
    const password = `pw-${crypto.randomUUID()}`;
    const created = await rpc("CreateUser", {
      username,
      password,
      fullName: "Web Customer",
      email: `${username}@example.com`,
    });
    expect(created.status).toBe(200);
    expect(created.headers.get("Cache-Control")).toBeNull();
    const login = await rpc("LoginUser", { username, password });
    expect(login.status).toBe(200);
    expect(login.headers.get("Cache-Control")).toBe("no-store");
    const { refreshToken } = (await login.json()) as { refreshToken: string };
    const renewed = await rpc("RenewAccessToken", { refreshToken });
    expect(renewed.status).toBe(200);
    expect(renewed.headers.get("Cache-Control")).toBe("no-store");
  });

  test("CORS: the allowed origin may send the Connect and gRPC-Web headers and read the status; others get no CORS headers", async () => {
    const url = `${baseUrl()}/pb.SimpleBank/CreateTransfer`;
    const preflight = (origin: string) =>
      fetch(url, {
        method: "OPTIONS",
        headers: {
          Origin: origin,
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers":
            "authorization,content-type,connect-protocol-version,idempotency-key,x-grpc-web,x-user-agent",
        },
      });
    const allowed = await preflight("http://localhost:3000");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:3000");
    const headers = (allowed.headers.get("Access-Control-Allow-Headers") ?? "").toLowerCase();
    for (const header of [
      "authorization",
      "connect-protocol-version",
      "idempotency-key",
      "x-grpc-web",
      "x-request-id",
    ]) {
      expect(headers.split(",")).toContain(header);
    }
    expect(allowed.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    const corsHeadersOf = (res: Response) =>
      [...res.headers.keys()].filter((name) => name.toLowerCase().startsWith("access-control-"));
    for (const origin of ["https://evil.example", "null", "http://localhost:3001"]) {
      // No CORS headers at all: not even credentials, methods, headers or max-age.
      const stranger = await preflight(origin);
      expect(corsHeadersOf(stranger)).toEqual([]);
      expect(stranger.headers.get("Vary") ?? "").toContain("Origin");
      const call = await fetch(`${baseUrl()}/pb.SimpleBank/GetAccount`, {
        method: "POST",
        headers: {
          Origin: origin,
          "Content-Type": "application/json",
          "Connect-Protocol-Version": "1",
        },
        body: JSON.stringify({ id: "1" }),
      });
      expect(call.status).toBe(401);
      expect(corsHeadersOf(call)).toEqual([]);
      expect(await call.json()).toMatchObject({ code: "unauthenticated" });
    }

    const reply = await fetch(`${baseUrl()}/pb.SimpleBank/GetAccount`, {
      method: "POST",
      headers: {
        Origin: "http://localhost:3000",
        "Content-Type": "application/json",
        "Connect-Protocol-Version": "1",
      },
      body: JSON.stringify({ id: "1" }),
    });
    expect(reply.status).toBe(401);
    expect(reply.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:3000");
    const exposed = (reply.headers.get("Access-Control-Expose-Headers") ?? "")
      .toLowerCase()
      .split(",");
    for (const header of ["grpc-status", "grpc-status-details-bin", "x-request-id"]) {
      expect(exposed).toContain(header);
    }
    expect(await reply.json()).toMatchObject({ code: "unauthenticated" });
  });
});
