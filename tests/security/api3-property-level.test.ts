import { beforeAll, describe, expect, test } from "bun:test";
import { eq, inArray } from "drizzle-orm";
import { hashSecretCode } from "../../src/core/auth/secret-codes.ts";
import { passwordResets, sessions, users, verifyEmails } from "../../src/core/db/schema.ts";
import {
  type AccountJson,
  call,
  depositTo,
  expectProblem,
  openAccountFor,
  type Reply,
  signUp,
  type TestUser,
  testBanker,
} from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { connectCall, openApiDocument, openApiOperations, operationKey } from "./support.ts";

/**
 * OWASP API3:2023 Broken Object Property Level Authorization.
 * Exposure: a flow touches EVERY operation of /openapi.json (a route added later fails here
 * until it has a request); every JSON body it gets back carries only the properties its
 * documented schema names, no internal column names, and none of the secrets the database
 * holds for those users (bcrypt hashes, refresh-token hashes, verification codes).
 * Mass assignment: fields a client must not set (role, balance, owner, is_email_verified,
 * hashes, timestamps, currency…) in any create or update body are 400 naming the field, and
 * nothing changes.
 */

const { deps, config } = await testDatabase();

/** Column and property names that must never appear in a response. */
const HIDDEN_KEYS = [
  "hashed_password",
  "hashedPassword",
  "password",
  "refresh_token_hash",
  "refreshTokenHash",
  "secret_code",
  "secretCode",
  "is_blocked",
  "isBlocked",
  "is_used",
  "job_id",
  "request_fingerprint",
  "kind_of_account",
];

type Schema = Record<string, unknown>;

interface Document {
  components?: { schemas?: Record<string, Schema> };
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
}

function resolve(schema: Schema, document: Document): Schema {
  const ref = schema.$ref;
  if (typeof ref !== "string") return schema;
  const name = ref.replace("#/components/schemas/", "");
  const target = document.components?.schemas?.[name];
  if (!target) throw new Error(`unresolved ${ref}`);
  return resolve(target, document);
}

/** The paths in `value` whose property its schema does not document. */
function undocumented(value: unknown, raw: Schema, document: Document, at = "$"): string[] {
  const schema = resolve(raw, document);
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives) {
    const results = alternatives.map((alt) => undocumented(value, alt, document, at));
    return (
      results.find((r) => r.length === 0) ?? results.sort((a, b) => a.length - b.length)[0] ?? []
    );
  }
  if (Array.isArray(schema.allOf)) {
    const merged: Schema = { type: "object", properties: {} };
    for (const part of schema.allOf as Schema[]) {
      Object.assign(merged.properties as Schema, resolve(part, document).properties ?? {});
    }
    return undocumented(value, merged, document, at);
  }
  if (Array.isArray(value)) {
    const items = (schema.items ?? {}) as Schema;
    return value.flatMap((item, i) => undocumented(item, items, document, `${at}[${i}]`));
  }
  if (value !== null && typeof value === "object") {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    if (!schema.properties && schema.additionalProperties) return [];
    return Object.entries(value).flatMap(([key, child]) => {
      const property = properties[key];
      if (!property) return [`${at}.${key}`];
      return undocumented(child, property, document, `${at}.${key}`);
    });
  }
  return [];
}

/** The documented JSON schema of `status` for an operation (fails if undocumented). */
function responseSchema(document: Document, method: string, path: string, status: number) {
  const operation = document.paths[path]?.[method.toLowerCase()];
  if (!operation) throw new Error(`${method} ${path} is not documented`);
  const response = operation.responses[String(status)] as
    | { content?: Record<string, { schema?: Schema }> }
    | undefined;
  if (!response) throw new Error(`${method} ${path}: status ${status} is not documented`);
  const content = response.content ?? {};
  return (content["application/json"] ?? content["application/problem+json"])?.schema;
}

// ---- the flow: one request (or more) per documented operation ---------------------------

interface World {
  alice: TestUser;
  bob: TestUser;
  banker: TestUser;
  aliceAccount: AccountJson;
  bobAccount: AccountJson;
  transferId: number;
}

type Step = (w: World) => Promise<Reply[]>;

/** Inserts a verification link as the email job writes it; returns its query string. */
async function verificationQuery(user: TestUser, names = ["email_id", "secret_code"]) {
  const secretCode = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
  const [row] = await deps.db
    .insert(verifyEmails)
    .values({ username: user.username, email: user.email, secretCode })
    .returning({ id: verifyEmails.id });
  return `?${names[0]}=${row?.id}&${names[1]}=${secretCode}`;
}

/** A minted password reset link of a user of its own (a confirmation ends their sessions). */
async function passwordResetLink() {
  const user = await signUp();
  const secretCode = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const resetId = crypto.randomUUID();
  await deps.db.insert(passwordResets).values({
    id: resetId,
    username: user.username,
    email: user.email,
    secretCodeHash: hashSecretCode(secretCode),
    expiredAt: new Date(Date.now() + 15 * 60_000),
  });
  return { reset_id: resetId, secret_code: secretCode };
}

const newUserBody = () => {
  const username = uniqueName("p3");
  return {
    username,
    password: `pw-${crypto.randomUUID()}`,
    full_name: "Property Test",
    email: `${username}@example.com`,
  };
};

const STEPS: Record<string, Step> = {
  "GET /healthz": async () => [await call("GET", "/healthz")],
  "GET /readyz": async () => [await call("GET", "/readyz")],
  "POST /users": async (w) => [
    await call("POST", "/users", { body: newUserBody() }),
    await call("POST", "/users", { body: { ...newUserBody(), username: w.alice.username } }),
  ],
  "GET /users/me": async (w) => [await call("GET", "/users/me", { token: w.alice.accessToken })],
  "POST /users/resend_verification": async (w) => [
    await call("POST", "/users/resend_verification", { token: w.bob.accessToken }),
  ],
  "PATCH /users/{username}": async (w) => [
    await call("PATCH", `/users/${w.alice.username}`, {
      token: w.alice.accessToken,
      body: { full_name: "Alice Property" },
    }),
    await call("PATCH", `/users/${w.alice.username}`, {
      token: w.banker.accessToken,
      body: { full_name: "Alice By Banker" },
    }),
  ],
  "GET /verify_email": async (w) => [
    await call("GET", `/verify_email${await verificationQuery(w.alice)}`),
    await call("GET", "/verify_email?email_id=1&secret_code=wrong-code-wrong-code-wrong"),
  ],
  "POST /users/password_reset": async (w) => [
    await call("POST", "/users/password_reset", { body: { email: w.alice.email } }),
    await call("POST", "/users/password_reset", { body: { email: "nobody@example.com" } }),
  ],
  "POST /users/password_reset/confirm": async () => {
    const link = await passwordResetLink();
    const body = { ...link, new_password: `pw-${crypto.randomUUID()}` };
    return [
      await call("POST", "/users/password_reset/confirm", { body }),
      await call("POST", "/users/password_reset/confirm", { body }),
    ];
  },
  "POST /users/login": async (w) => [
    await call("POST", "/users/login", {
      body: { username: w.bob.username, password: w.bob.password },
    }),
    await call("POST", "/users/login", {
      body: { username: w.bob.username, password: "nope-nope" },
    }),
  ],
  "POST /tokens/renew_access": async (w) => {
    const session = await call<{ refresh_token: string }>("POST", "/users/login", {
      body: { username: w.bob.username, password: w.bob.password },
    });
    return [
      await call("POST", "/tokens/renew_access", {
        body: { refresh_token: session.body.refresh_token },
      }),
    ];
  },
  "GET /users/me/sessions": async (w) => [
    await call("GET", "/users/me/sessions", { token: w.alice.accessToken }),
  ],
  "DELETE /users/me/sessions/{session_id}": async (w) => {
    const session = await call<{ session_id: string }>("POST", "/users/login", {
      body: { username: w.bob.username, password: w.bob.password },
    });
    return [
      await call("DELETE", `/users/me/sessions/${session.body.session_id}`, {
        token: w.bob.accessToken,
      }),
    ];
  },
  "POST /users/logout": async (w) => {
    const session = await call<{ access_token: string }>("POST", "/users/login", {
      body: { username: w.bob.username, password: w.bob.password },
    });
    return [await call("POST", "/users/logout", { token: session.body.access_token })];
  },
  "POST /accounts": async (w) => [
    await call("POST", "/accounts", { token: w.alice.accessToken, body: { currency: "CAD" } }),
  ],
  "GET /accounts": async (w) => [
    await call("GET", "/accounts", { token: w.alice.accessToken }),
    await call("GET", `/accounts?owner=${w.alice.username}`, { token: w.banker.accessToken }),
  ],
  "GET /accounts/{id}": async (w) => [
    await call("GET", `/accounts/${w.aliceAccount.id}`, { token: w.alice.accessToken }),
    await call("GET", `/accounts/${w.aliceAccount.id}`, { token: w.banker.accessToken }),
    await call("GET", `/accounts/${w.aliceAccount.id}`, { token: w.bob.accessToken }),
  ],
  "GET /accounts/{id}/entries": async (w) => [
    await call("GET", `/accounts/${w.aliceAccount.id}/entries`, { token: w.alice.accessToken }),
    await call("GET", `/accounts/${w.bobAccount.id}/entries`, { token: w.bob.accessToken }),
  ],
  "POST /accounts/{id}/deposits": async (w) => [
    await call("POST", `/accounts/${w.aliceAccount.id}/deposits`, {
      token: w.banker.accessToken,
      body: { amount: 500, currency: "USD" },
    }),
  ],
  "POST /accounts/{id}/withdrawals": async (w) => [
    await call("POST", `/accounts/${w.aliceAccount.id}/withdrawals`, {
      token: w.banker.accessToken,
      body: { amount: 100, currency: "USD" },
    }),
  ],
  "POST /transfers": async (w) => [
    await call("POST", "/transfers", {
      token: w.alice.accessToken,
      body: {
        from_account_id: w.aliceAccount.id,
        to_account_id: w.bobAccount.id,
        amount: 100,
        currency: "USD",
      },
    }),
    await call("POST", "/transfers", {
      token: w.alice.accessToken,
      body: {
        from_account_id: w.aliceAccount.id,
        to_username: w.bob.username,
        amount: 100,
        currency: "USD",
      },
    }),
  ],
  "GET /transfers": async (w) => [
    await call("GET", "/transfers", { token: w.bob.accessToken }),
    await call("GET", `/transfers?account_id=${w.aliceAccount.id}`, { token: w.alice.accessToken }),
  ],
  "GET /transfers/{id}": async (w) => [
    await call("GET", `/transfers/${w.transferId}`, { token: w.bob.accessToken }),
    await call("GET", `/transfers/${w.transferId}`, { token: w.banker.accessToken }),
  ],
  "POST /v1/create_user": async () => [
    await call("POST", "/v1/create_user", { body: newUserBody() }),
  ],
  "POST /v1/login_user": async (w) => [
    await call("POST", "/v1/login_user", {
      body: { username: w.bob.username, password: w.bob.password },
    }),
  ],
  "PATCH /v1/update_user": async (w) => [
    await call("PATCH", "/v1/update_user", {
      token: w.bob.accessToken,
      body: { username: w.bob.username, full_name: "Bob Property" },
    }),
  ],
  "GET /v1/verify_email": async (w) => [
    await call(
      "GET",
      `/v1/verify_email${await verificationQuery(w.bob, ["emailId", "secretCode"])}`,
    ),
  ],
  "GET /problems/{code}": async () => [await call("GET", "/problems/forbidden")],
};

let world: World;

beforeAll(async () => {
  const alice = await signUp();
  const bob = await signUp();
  const banker = await testBanker();
  const aliceAccount = await openAccountFor(alice);
  const bobAccount = await openAccountFor(bob);
  await depositTo(aliceAccount, 10_000);
  const sent = await call<{ transfer: { id: number } }>("POST", "/transfers", {
    token: alice.accessToken,
    body: {
      from_account_id: aliceAccount.id,
      to_account_id: bobAccount.id,
      amount: 250,
      currency: "USD",
    },
  });
  world = { alice, bob, banker, aliceAccount, bobAccount, transferId: sent.body.transfer.id };
});

/** Every secret the database holds for the world's users, as the server stored it. */
async function storedSecrets(usernames: string[]): Promise<string[]> {
  const userRows = await deps.db
    .select({ hash: users.hashedPassword })
    .from(users)
    .where(inArray(users.username, usernames));
  const sessionRows = await deps.db
    .select({ hash: sessions.refreshTokenHash })
    .from(sessions)
    .where(inArray(sessions.username, usernames));
  const codes = await deps.db
    .select({ code: verifyEmails.secretCode })
    .from(verifyEmails)
    .where(inArray(verifyEmails.username, usernames));
  return [
    ...userRows.map((row) => row.hash),
    ...sessionRows.map((row) => row.hash),
    ...codes.map((row) => row.code),
    config.tokenSymmetricKey,
  ];
}

describe("API3: excessive data exposure", () => {
  test("every operation's replies carry only documented properties, no hidden column, no stored secret", async () => {
    const document = (await openApiDocument()) as unknown as Document;
    const operations = await openApiOperations();
    expect(operations.map(operationKey).sort()).toEqual(Object.keys(STEPS).sort());
    const problems: string[] = [];
    const bodies: string[] = [];
    for (const operation of operations) {
      const step = STEPS[operationKey(operation)];
      if (!step) throw new Error(`no API3 step for ${operationKey(operation)}`);
      for (const reply of await step(world)) {
        const where = `${operationKey(operation)} → ${reply.status}`;
        expect(reply.status).toBeLessThan(500);
        const schema = responseSchema(document, operation.method, operation.path, reply.status);
        if (typeof reply.body === "string") {
          // /problems/{code} is HTML; 204s are empty.
          bodies.push(reply.body);
          continue;
        }
        if (!schema) {
          problems.push(`${where}: a JSON body where none is documented`);
          continue;
        }
        for (const path of undocumented(reply.body, schema, document)) {
          problems.push(`${where}: undocumented ${path}`);
        }
        const text = JSON.stringify(reply.body);
        bodies.push(text);
        for (const key of HIDDEN_KEYS) {
          if (text.includes(`"${key}"`)) problems.push(`${where}: hidden key ${key}`);
        }
      }
    }
    expect(problems).toEqual([]);
    const secrets = await storedSecrets([world.alice.username, world.bob.username]);
    expect(secrets.length).toBeGreaterThanOrEqual(6);
    for (const secret of secrets) {
      for (const body of bodies) expect(body).not.toContain(secret);
    }
  });

  test("a transfer's recipient account shows no balance to a sender who does not own it", async () => {
    const reply = await call<{ to_account: Record<string, unknown>; from_account: AccountJson }>(
      "POST",
      "/transfers",
      {
        token: world.alice.accessToken,
        body: {
          from_account_id: world.aliceAccount.id,
          to_account_id: world.bobAccount.id,
          amount: 1,
          currency: "USD",
        },
      },
    );
    expect(reply.status).toBe(201);
    expect(reply.body.from_account.balance).toBeNumber();
    expect(reply.body.to_account).not.toHaveProperty("balance");
    const seen = await call<{ to_account: Record<string, unknown> }>(
      "GET",
      `/transfers/${world.transferId}`,
      { token: world.alice.accessToken },
    );
    expect(JSON.stringify(seen.body)).not.toContain('"balance"');
  });
});

// ---- mass assignment ----------------------------------------------------------------------

/** 400 validation_failed naming exactly `field` among its errors. */
function expectUnknownField(reply: Reply, field: string, where: string): void {
  try {
    expectProblem(reply, 400, "validation_failed");
  } catch (error) {
    throw new Error(`${where} with ${field}: ${(error as Error).message}`);
  }
  const errors = (reply.body as { errors?: { field: string }[] }).errors ?? [];
  expect(errors.map((e) => e.field)).toContain(field);
}

const FORBIDDEN_USER_FIELDS: Record<string, unknown> = {
  role: "banker",
  is_email_verified: true,
  isEmailVerified: true,
  hashed_password: "$2b$04$abcdefghijklmnopqrstuu",
  password_changed_at: "2000-01-01T00:00:00Z",
  created_at: "2000-01-01T00:00:00Z",
  balance: 1_000_000,
};

describe("API3: mass assignment", () => {
  test("REST user create and update bodies refuse role, verification, hashes, timestamps: 400, nothing changes", async () => {
    const user = await signUp();
    for (const [field, value] of Object.entries(FORBIDDEN_USER_FIELDS)) {
      expectUnknownField(
        await call("PATCH", `/users/${user.username}`, {
          token: user.accessToken,
          body: { full_name: "Mass Assigned", [field]: value },
        }),
        field,
        "PATCH /users/{username}",
      );
      const created = newUserBody();
      expectUnknownField(
        await call("POST", "/users", { body: { ...created, [field]: value } }),
        field,
        "POST /users",
      );
      // Not registered with the field dropped either.
      const [row] = await deps.db.select().from(users).where(eq(users.username, created.username));
      expect(row).toBeUndefined();
    }
    // Renaming oneself is no update either (the username is the key).
    expectUnknownField(
      await call("PATCH", `/users/${user.username}`, {
        token: user.accessToken,
        body: { username: uniqueName("renamed") },
      }),
      "username",
      "PATCH /users/{username}",
    );
    const [row] = await deps.db.select().from(users).where(eq(users.username, user.username));
    expect(row?.role).toBe("depositor");
    expect(row?.isEmailVerified).toBe(false);
    expect(row?.fullName).toBe(user.fullName);
  });

  test("account and money bodies refuse balance, owner, id, kind: 400, nothing is created or moved", async () => {
    const user = await signUp();
    const other = await signUp();
    const account = await openAccountFor(user, "USD");
    await depositTo(account, 1_000);
    for (const [field, value] of Object.entries({
      balance: 1_000_000,
      owner: other.username,
      id: 1,
      kind: "treasury",
      created_at: "2000-01-01T00:00:00Z",
    })) {
      expectUnknownField(
        await call("POST", "/accounts", {
          token: user.accessToken,
          body: { currency: "EUR", [field]: value },
        }),
        field,
        "POST /accounts",
      );
    }
    const otherAccount = await openAccountFor(other, "USD");
    const transfer = {
      from_account_id: account.id,
      to_account_id: otherAccount.id,
      amount: 10,
      currency: "USD",
    };
    for (const [field, value] of Object.entries({
      owner: other.username,
      balance: 0,
      status: "done",
    })) {
      expectUnknownField(
        await call("POST", "/transfers", {
          token: user.accessToken,
          body: { ...transfer, [field]: value },
        }),
        field,
        "POST /transfers",
      );
    }
    const banker = await testBanker();
    expectUnknownField(
      await call("POST", `/accounts/${account.id}/deposits`, {
        token: banker.accessToken,
        body: { amount: 10, currency: "USD", from_account_id: otherAccount.id },
      }),
      "from_account_id",
      "POST /accounts/{id}/deposits",
    );
    const mine = await call<AccountJson[]>("GET", "/accounts", { token: user.accessToken });
    expect(mine.body.map((a) => [a.currency, a.balance])).toEqual([["USD", 1_000]]);
  });

  test("an account's currency or balance cannot be changed: no update route exists (405)", async () => {
    const user = await signUp();
    const account = await openAccountFor(user, "USD");
    for (const method of ["PATCH", "PUT"]) {
      const reply = await call(method, `/accounts/${account.id}`, {
        token: user.accessToken,
        body: { currency: "EUR", balance: 1_000_000 },
      });
      expectProblem(reply, 405, "method_not_allowed");
    }
    const after = await call<AccountJson>("GET", `/accounts/${account.id}`, {
      token: user.accessToken,
    });
    expect([after.body.currency, after.body.balance]).toEqual(["USD", 0]);
  });

  test("the /v1 gateway and Connect discard unknown fields (protojson, by design): role, verification, balance never take effect", async () => {
    const user = await signUp();
    const smuggled = { role: "banker", is_email_verified: true, isEmailVerified: true, balance: 1 };
    const gateway = await call("PATCH", "/v1/update_user", {
      token: user.accessToken,
      body: { username: user.username, full_name: "Gateway Mass", ...smuggled },
    });
    expect(gateway.status).toBe(200);
    const connect = await connectCall(
      "UpdateUser",
      { username: user.username, full_name: "Connect Mass", ...smuggled },
      user.accessToken,
    );
    expect(connect.status).toBe(200);
    const [row] = await deps.db.select().from(users).where(eq(users.username, user.username));
    expect(row?.role).toBe("depositor");
    expect(row?.isEmailVerified).toBe(false);
    expect(row?.fullName).toBe("Connect Mass");
    // Sign-ups through either face are depositors, unverified.
    const viaGateway = newUserBody();
    expect(
      (await call("POST", "/v1/create_user", { body: { ...viaGateway, ...smuggled } })).status,
    ).toBe(200);
    const viaConnect = newUserBody();
    expect((await connectCall("CreateUser", { ...viaConnect, ...smuggled })).status).toBe(200);
    const created = await deps.db
      .select({ role: users.role, verified: users.isEmailVerified })
      .from(users)
      .where(inArray(users.username, [viaGateway.username, viaConnect.username]));
    expect(created).toEqual([
      { role: "depositor", verified: false },
      { role: "depositor", verified: false },
    ]);
    // A token issued after all this still says depositor: a banker-only route is 403.
    const login = await call<{ access_token: string }>("POST", "/v1/login_user", {
      body: { username: viaGateway.username, password: viaGateway.password },
    });
    const deposit = await call("POST", "/accounts/1/deposits", {
      token: login.body.access_token,
      body: { amount: 1, currency: "USD" },
    });
    expectProblem(deposit, 403, "forbidden");
  });
});
