import { beforeAll, describe, expect, test } from "bun:test";
import { SimpleBank } from "../../src/core/grpc/gen/pb/service_simple_bank_pb.ts";
import {
  type AccountJson,
  call,
  depositTo,
  expectProblem,
  openAccountFor,
  signUp,
  type TestUser,
} from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { PROJECT_ROOT } from "../support/process.ts";
import { connectCall, openApiDocument, openApiOperations, operationKey } from "./support.ts";

/**
 * OWASP API5:2023 Broken Function Level Authorization. The banker-only functions (cash in and
 * out, listing another owner's accounts) refuse a depositor's token even on the depositor's
 * own account, on REST and Connect; no HTTP route or RPC can change a role (no request schema
 * has one, and the obvious admin paths do not exist); the operator CLI is the one way, and its
 * change takes effect on the tokens already issued.
 */

/** Operations a depositor may not call at all, whatever the object (contract, "Roles"). */
const BANKER_ONLY: Record<string, (self: World) => { path: string; body?: unknown }> = {
  "POST /accounts/{id}/deposits": (w) => ({
    path: `/accounts/${w.account.id}/deposits`,
    body: { amount: 100, currency: "USD" },
  }),
  "POST /accounts/{id}/withdrawals": (w) => ({
    path: `/accounts/${w.account.id}/withdrawals`,
    body: { amount: 100, currency: "USD" },
  }),
};

/** Operations documenting 403 whose 403 is about the object, not the function (see API1). */
const OBJECT_LEVEL_403 = new Set([
  "PATCH /users/{username}",
  "PATCH /v1/update_user",
  "GET /accounts",
  "GET /accounts/{id}",
  "GET /accounts/{id}/entries",
  "POST /transfers",
  "GET /transfers",
  "GET /transfers/{id}",
]);

interface World {
  depositor: TestUser;
  account: AccountJson;
}

let world: World;

beforeAll(async () => {
  const depositor = await signUp();
  const account = await openAccountFor(depositor);
  await depositTo(account, 1_000);
  world = { depositor, account };
});

async function balance(id: number, token: string): Promise<number> {
  return (await call<AccountJson>("GET", `/accounts/${id}`, { token })).body.balance;
}

describe("API5: banker-only functions", () => {
  test("every operation documenting 403 is classified; the banker-only ones refuse a depositor on their OWN account", async () => {
    const documenting403 = (await openApiOperations())
      .filter((operation) => operation.statuses.includes("403"))
      .map(operationKey);
    expect(documenting403.sort()).toEqual(
      [...Object.keys(BANKER_ONLY), ...OBJECT_LEVEL_403].sort(),
    );
    for (const [key, request] of Object.entries(BANKER_ONLY)) {
      const [method = "POST"] = key.split(" ");
      const { path, body } = request(world);
      const reply = await call(method, path, { token: world.depositor.accessToken, body });
      expectProblem(reply, 403, "forbidden");
    }
    expect(await balance(world.account.id, world.depositor.accessToken)).toBe(1_000);
  });

  test("GET /accounts?owner= naming anyone else (another customer, bank) is for bankers", async () => {
    const other = await signUp();
    for (const owner of [other.username, "bank"]) {
      expectProblem(
        await call("GET", `/accounts?owner=${owner}`, { token: world.depositor.accessToken }),
        403,
        "forbidden",
      );
    }
  });

  test("Connect Deposit and Withdraw with a depositor's token on their own account: permission_denied", async () => {
    for (const method of ["Deposit", "Withdraw"]) {
      const reply = await connectCall(
        method,
        { account_id: world.account.id, amount: 100, currency: "USD" },
        world.depositor.accessToken,
      );
      expect([reply.status, reply.body.code]).toEqual([403, "permission_denied"]);
    }
    expect(await balance(world.account.id, world.depositor.accessToken)).toBe(1_000);
  });
});

describe("API5: roles change only through the operator CLI", () => {
  test("no documented request body, parameter or RPC request carries a role", async () => {
    const document = await openApiDocument();
    const text = JSON.stringify({
      requests: Object.values(document.paths).flatMap((operations) =>
        Object.values(operations).map((op) => [op.parameters ?? [], op.requestBody ?? {}]),
      ),
      schemas: Object.fromEntries(
        Object.entries(document.components?.schemas ?? {}).filter(([name]) =>
          /Request$/.test(name),
        ),
      ),
    });
    expect(text).not.toMatch(/"role"/);
    const withRole = SimpleBank.methods.filter((method) =>
      method.input.fields.some((field) => field.name === "role"),
    );
    expect(withRole.map((m) => m.name)).toEqual([]);
  });

  test("the usual admin paths do not exist: 404 (or 405 on a known path)", async () => {
    const { depositor } = world;
    const probes: [string, string][] = [
      ["POST", `/users/${depositor.username}/role`],
      ["PUT", `/users/${depositor.username}/role`],
      ["PATCH", `/users/${depositor.username}/role`],
      ["POST", "/admin/grant-role"],
      ["POST", "/admin/users"],
      ["POST", "/roles"],
      ["POST", "/v1/grant_role"],
      ["POST", "/v1/update_user_role"],
      ["PUT", `/users/${depositor.username}`],
      ["POST", `/users/${depositor.username}`],
    ];
    for (const [method, path] of probes) {
      const reply = await call(method, path, {
        token: depositor.accessToken,
        body: { role: "banker" },
      });
      expect([404, 405]).toContain(reply.status);
      expect(reply.headers.get("Content-Type")).toBe("application/problem+json");
    }
    const me = await call<{ role: string }>("GET", "/users/me", { token: depositor.accessToken });
    expect(me.body.role).toBe("depositor");
  });

  test("bun run cli grant-role: takes effect on tokens already issued, both ways", async () => {
    const database = await testDatabase();
    const user = await signUp();
    const account = await openAccountFor(user);
    const cli = async (role: string) => {
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        DATABASE_URL: database.url,
      };
      if (database.redis) {
        env.UPSTASH_REDIS_REST_URL = database.redis.url;
        env.UPSTASH_REDIS_REST_TOKEN = database.redis.token;
        env.REDIS_KEY_PREFIX = database.redisPrefix;
      }
      const child = Bun.spawn(["bun", "src/cli.ts", "grant-role", user.username, role], {
        cwd: PROJECT_ROOT,
        env,
        stdout: "pipe",
        stderr: "pipe",
      });
      expect(await child.exited).toBe(0);
    };
    const deposit = (token: string) =>
      call("POST", `/accounts/${account.id}/deposits`, {
        token,
        body: { amount: 100, currency: "USD" },
      });
    /** After a role change, tokens issued before are 401 token_expired (docs/api.md): poll. */
    const refusedAsStale = async (token: string) => {
      let reply = await deposit(token);
      for (let i = 0; i < 20 && reply.status !== 401; i++) {
        await Bun.sleep(100);
        reply = await deposit(token);
      }
      expectProblem(reply, 401, "token_expired");
    };
    const renew = async (refreshToken: string) => {
      const reply = await call<{ access_token: string; refresh_token: string }>(
        "POST",
        "/tokens/renew_access",
        { body: { refresh_token: refreshToken } },
      );
      expect(reply.status).toBe(200);
      return reply.body;
    };
    expectProblem(await deposit(user.accessToken), 403, "forbidden");
    await cli("banker");
    await refusedAsStale(user.accessToken);
    const asBanker = await renew(user.refreshToken);
    expect((await deposit(asBanker.access_token)).status).toBe(201);
    await cli("depositor");
    // The banker's token does not outlive the demotion.
    await refusedAsStale(asBanker.access_token);
    const asDepositor = await renew(asBanker.refresh_token);
    expectProblem(await deposit(asDepositor.access_token), 403, "forbidden");
  }, 30_000);
});
