import { beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import type { Database } from "../../src/core/db/client.ts";
import { sessions, users, verifyEmails } from "../../src/core/db/schema.ts";
import { createApp } from "../../src/core/http/app.ts";
import { type JobQueue, noJobs } from "../../src/core/services/jobs.ts";
import {
  call,
  callOn,
  expectProblem,
  logIn,
  type Reply,
  signUp,
  type TestUser,
  testBanker,
  testHttpDeps,
} from "../support/app.ts";
import { type TestContext, testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";

/**
 * Contract, "Users and sessions": registration, the caller's profile, partial updates and
 * email verification, end to end over HTTP on the real database.
 */

interface UserJson {
  username: string;
  full_name: string;
  email: string;
  role: string;
  is_email_verified: boolean;
  password_changed_at: string;
  created_at: string;
}

interface ProblemJson {
  code: string;
  detail: string;
  request_id?: string;
  errors?: { field: string; message: string }[];
}

const USER_FIELDS = [
  "created_at",
  "email",
  "full_name",
  "is_email_verified",
  "password_changed_at",
  "role",
  "username",
];
const ZERO_TIME = "0001-01-01T00:00:00Z";
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const BCRYPT_HASH = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

let deps: TestContext;
let db: Database;
beforeAll(async () => {
  const database = await testDatabase();
  deps = database.deps;
  db = database.handle.db;
});

/** A valid registration body, unique per call, with any field replaced. */
function newUser(overrides: Record<string, unknown> = {}) {
  const username = uniqueName("u");
  return {
    username,
    password: `pw-${crypto.randomUUID()}`,
    full_name: "Alice Liddell",
    email: `${username}@example.com`,
    ...overrides,
  };
}

const register = (body: unknown) => call<UserJson>("POST", "/users", { body });

/** The field names a 400 lists, sorted. */
function fieldsOf(reply: Reply): string[] {
  return ((reply.body as ProblemJson).errors ?? []).map((e) => e.field).sort();
}

function expectInvalid(reply: Reply, fields: string[]): void {
  expectProblem(reply, 400, "validation_failed");
  expect(fieldsOf(reply)).toEqual([...fields].sort());
}

async function userRow(username: string) {
  const [row] = await db.select().from(users).where(eq(users.username, username));
  return row;
}

/** An email address of exactly `length` characters (40-character local part, 3 labels). */
function emailOfLength(length: number): string {
  const local = uniqueName("e").padEnd(40, "x");
  const labels = length - local.length - 1 - ".com".length;
  const third = labels - 2 * 50 - 2;
  const email = `${local}@${"a".repeat(50)}.${"b".repeat(50)}.${"c".repeat(third)}.com`;
  if (email.length !== length) throw new Error(`built ${email.length} characters`);
  return email;
}

// ---- POST /users -------------------------------------------------------------------------

describe("POST /users", () => {
  test("TestCreateUserAPI > OK: 201 with exactly the User fields, a new unverified depositor", async () => {
    const body = newUser();
    const before = Date.now();
    const res = await register(body);
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toStartWith("application/json");
    expect(Object.keys(res.body).sort()).toEqual(USER_FIELDS);
    expect(res.body).toMatchObject({
      username: body.username,
      full_name: body.full_name,
      email: body.email,
      role: "depositor",
      is_email_verified: false,
      password_changed_at: ZERO_TIME,
    });
    expect(res.body.created_at).toMatch(RFC3339_UTC);
    const created = Date.parse(res.body.created_at);
    expect(created).toBeGreaterThanOrEqual(before - 5_000);
    expect(created).toBeLessThanOrEqual(Date.now() + 5_000);
    // No hash, no password, under any name.
    expect(JSON.stringify(res.body)).not.toContain("$2");
    expect(JSON.stringify(res.body)).not.toContain(body.password);
  });

  test("the stored password is a bcrypt hash of it, never the password itself", async () => {
    const body = newUser();
    expect((await register(body)).status).toBe(201);
    const row = await userRow(body.username);
    if (!row) throw new Error("user row missing");
    expect(row.hashedPassword).toMatch(BCRYPT_HASH);
    expect(Object.values(row)).not.toContain(body.password);
    expect(await Bun.password.verify(body.password, row.hashedPassword, "bcrypt")).toBe(true);
    expect(await Bun.password.verify(`${body.password}x`, row.hashedPassword, "bcrypt")).toBe(
      false,
    );
    expect(await deps.passwords.verify(body.password, row.hashedPassword)).toBe(true);
  });

  test("TestCreateUserAPI > DuplicateUsername: 409 username_taken (contract fix: was 403)", async () => {
    const first = newUser();
    expect((await register(first)).status).toBe(201);
    const again = await register(newUser({ username: first.username }));
    expectProblem(again, 409, "username_taken");
  });

  test("an email taken in other letter case: 409 email_taken", async () => {
    const tag = uniqueName("mail");
    expect((await register(newUser({ email: `Alice.${tag}@X.com` }))).status).toBe(201);
    expectProblem(await register(newUser({ email: `alice.${tag}@x.com` })), 409, "email_taken");
    expectProblem(await register(newUser({ email: `ALICE.${tag}@X.COM` })), 409, "email_taken");
  });

  test("registering the reserved system user `bank`: 409 username_taken", async () => {
    expectProblem(await register(newUser({ username: "bank" })), 409, "username_taken");
  });

  test("a failed registration leaves nothing behind (the username stays free)", async () => {
    const body = newUser();
    expectInvalid(await register({ ...body, email: "invalid-email" }), ["email"]);
    expect(await userRow(body.username)).toBeUndefined();
    expect((await register(body)).status).toBe(201);
  });

  test("TestCreateUserAPI > InvalidUsername: 400 naming username", async () => {
    expectInvalid(await register(newUser({ username: "invalid-user#1" })), ["username"]);
  });

  test("TestCreateUserAPI > InvalidEmail: 400 naming email", async () => {
    expectInvalid(await register(newUser({ email: "invalid-email" })), ["email"]);
  });

  test("TestCreateUserAPI > TooShortPassword: 400 naming password", async () => {
    expectInvalid(await register(newUser({ password: "123" })), ["password"]);
  });

  test("several bad fields at once: ONE 400 listing every field", async () => {
    const res = await register({
      username: "No",
      password: "short",
      full_name: "R2-D2",
      email: "not an email",
    });
    expectInvalid(res, ["email", "full_name", "password", "username"]);
    expect((res.body as unknown as ProblemJson).detail).toBe("4 fields are invalid");
    for (const error of (res.body as unknown as ProblemJson).errors ?? []) {
      expect(error.message.length).toBeGreaterThan(0);
    }
  });

  test("missing fields are each named", async () => {
    expectInvalid(await register({}), ["email", "full_name", "password", "username"]);
    const { email: _email, ...withoutEmail } = newUser();
    expectInvalid(await register(withoutEmail), ["email"]);
    const { password: _password, full_name: _name, ...withoutTwo } = newUser();
    expectInvalid(await register(withoutTwo), ["full_name", "password"]);
  });

  test("wrong types (number, null, array, object, boolean) are each named", async () => {
    expectInvalid(
      await register({
        username: 12345,
        password: null,
        full_name: ["Alice"],
        email: { address: "alice@example.com" },
      }),
      ["email", "full_name", "password", "username"],
    );
    expectInvalid(await register(newUser({ username: true })), ["username"]);
    expectInvalid(await register(newUser({ password: 12345678 })), ["password"]);
  });

  test("an unknown extra field is a 400 naming it: no role or verification by mass assignment", async () => {
    const body = newUser();
    expectInvalid(await register({ ...body, role: "banker" }), ["role"]);
    expectInvalid(await register({ ...body, is_email_verified: true }), ["is_email_verified"]);
    expectInvalid(await register({ ...body, fullName: "Alice" }), ["fullName"]);
    expect(await userRow(body.username)).toBeUndefined();
    const res = await register(body);
    expect(res.status).toBe(201);
    expect(res.body.role).toBe("depositor");
    expect(res.body.is_email_verified).toBe(false);
  });

  test("a body that is not a JSON object (array, string, number, null): 400", async () => {
    for (const raw of ["[]", '["alice"]', '"alice"', "42", "null", "true"]) {
      const res = await call("POST", "/users", { body: raw });
      expectProblem(res, 400, "validation_failed");
      expect(fieldsOf(res)).toEqual(["(body)"]);
    }
  });

  test("malformed or empty JSON: 400 malformed_json; a missing or non-JSON content type: 415", async () => {
    for (const raw of ['{"username": "alice",', "", "{'username': 'alice'}"]) {
      expectProblem(await call("POST", "/users", { body: raw }), 400, "malformed_json");
    }
    const body = JSON.stringify(newUser());
    expectProblem(
      await call("POST", "/users", { body, headers: { "Content-Type": "text/plain" } }),
      415,
      "unsupported_media_type",
    );
    // A Blob without a type: the request carries no Content-Type at all.
    const app = await testHttpDeps().then(createApp);
    const untyped = new Request("http://localhost/users", {
      method: "POST",
      body: new Blob([body]),
    });
    expect(untyped.headers.get("Content-Type")).toBeNull();
    const res = await app.request(untyped);
    expect(res.status).toBe(415);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    // A charset parameter is fine.
    const withCharset = await call("POST", "/users", {
      body,
      headers: { "Content-Type": "application/json; charset=utf-8" },
    });
    expect(withCharset.status).toBe(201);
  });

  test("SQL-looking strings are rejected or stored verbatim, never a 5xx", async () => {
    const sqlish = "'; drop table users; --";
    const rejected = [
      newUser({ username: sqlish }),
      newUser({ full_name: sqlish }),
      newUser({ email: `x${sqlish}@example.com` }),
      newUser({ username: "a' OR '1'='1" }),
    ];
    for (const body of rejected) {
      const res = await register(body);
      expect(res.status).toBe(400);
    }

    // Valid values with quotes and SQL words go in and come back exactly as sent.
    const quoted = newUser({
      password: sqlish,
      full_name: "O'Drop Table-Users. Jr",
    });
    quoted.email = `o'brien+drop.${quoted.username}@example.com`;
    const res = await register(quoted);
    expect(res.status).toBe(201);
    expect(res.body.full_name).toBe(quoted.full_name);
    expect(res.body.email).toBe(quoted.email);
    const row = await userRow(quoted.username);
    expect(row?.fullName).toBe(quoted.full_name);
    expect(row?.email).toBe(quoted.email);
    // The password with SQL in it logs in, and the users table is still there.
    const { accessToken } = await logIn(quoted.username, sqlish);
    expect((await call("GET", "/users/me", { token: accessToken })).status).toBe(200);
  });

  describe("field rules at their edges", () => {
    test("username: 3 and 100 characters of [a-z0-9_] are accepted", async () => {
      const three = `${crypto.randomUUID().slice(0, 2)}_`;
      const hundred = uniqueName("u").padEnd(100, "9");
      for (const username of [three, hundred]) {
        const res = await register(newUser({ username }));
        expect(res.status).toBe(201);
        expect(res.body.username).toBe(username);
      }
    });

    test("username: 2 or 101 characters, upper case, '-', space, non-ASCII, empty are 400", async () => {
      const base = uniqueName("u");
      for (const username of [
        "ab",
        base.padEnd(101, "9"),
        base.toUpperCase(),
        `${base}A`,
        `${base}-x`,
        `${base} x`,
        `${base}é`,
        "",
      ]) {
        expectInvalid(await register(newUser({ username })), ["username"]);
      }
    });

    test("full_name: letters of any script, spaces, ' - . are accepted and kept verbatim", async () => {
      for (const fullName of [
        "A",
        "Zoë Ångström-Łukasiewicz",
        "Mary-Jane O'Neil Jr.",
        "Александр Пушкин",
        "Ελένη Παπαδοπούλου",
        "王小明",
        "山田 太郎",
        "김민준",
        "محمد علي",
        "דוד לוי",
        "अमित शाह",
        "สมชาย ใจดี",
        "Zoe\u0308 decomposed",
        "a".repeat(100),
        "é".repeat(100),
        "𠀀".repeat(100),
      ]) {
        const res = await register(newUser({ full_name: fullName }));
        expect(res.status).toBe(201);
        expect(res.body.full_name).toBe(fullName);
      }
    });

    test("full_name: digits, emoji, symbols, control characters, empty, blank, 101 characters are 400", async () => {
      for (const fullName of [
        "John 2nd",
        "Bob 😀",
        "Alice <script>",
        "Tab\there",
        "Line\nbreak",
        "",
        "   ",
        "a".repeat(101),
        "李".repeat(101),
      ]) {
        expectInvalid(await register(newUser({ full_name: fullName })), ["full_name"]);
      }
    });

    test("password: 8..72 bytes counted in UTF-8, multi-byte characters included", async () => {
      const accepted = [
        "abcdefgh", // 8 bytes
        "éééé", // 4 characters, 8 bytes
        "a".repeat(72),
        "é".repeat(36), // 72 bytes
        "€".repeat(24), // 72 bytes
        "😀".repeat(18), // 72 bytes, 36 UTF-16 units
      ];
      for (const password of accepted) {
        expect((await register(newUser({ password }))).status).toBe(201);
      }
      const rejected = [
        "abcdefg", // 7 bytes
        "ééé", // 6 bytes
        "éééa", // 7 bytes
        "a".repeat(73),
        `${"é".repeat(36)}a`, // 73 bytes, 37 characters
        "€".repeat(25), // 75 bytes, 25 characters
        `${"😀".repeat(18)}x`, // 73 bytes
        "",
      ];
      for (const password of rejected) {
        expectInvalid(await register(newUser({ password })), ["password"]);
      }
    });

    test("password: every one of the 72 bytes counts at login (nothing is silently cut)", async () => {
      const body = newUser({ password: "é".repeat(36) });
      expect((await register(body)).status).toBe(201);
      await logIn(body.username, body.password);
      const lastDiffers = `${"é".repeat(35)}è`;
      const res = await call("POST", "/users/login", {
        body: { username: body.username, password: lastDiffers },
      });
      expectProblem(res, 401, "invalid_credentials");
    });

    test("email: 200 characters accepted, 201 rejected; malformed addresses rejected", async () => {
      const email200 = emailOfLength(200);
      const ok = await register(newUser({ email: email200 }));
      expect(ok.status).toBe(201);
      expect(ok.body.email).toBe(email200);
      expectInvalid(await register(newUser({ email: emailOfLength(201) })), ["email"]);
      for (const email of ["", "a@", "@example.com", "a b@example.com", "alice", "a@@b.com"]) {
        expectInvalid(await register(newUser({ email })), ["email"]);
      }
    });
  });

  test("the verification job is enqueued in the SAME transaction as the insert", async () => {
    const seen: { insideTx: boolean; outside: boolean }[] = [];
    const recording: JobQueue = {
      ...noJobs,
      async enqueueVerifyEmail(tx, job) {
        const inside = await tx.select().from(users).where(eq(users.username, job.username));
        const outside = await db.select().from(users).where(eq(users.username, job.username));
        seen.push({ insideTx: inside.length === 1, outside: outside.length === 1 });
      },
    };
    const app = createApp(await testHttpDeps({ services: { ...deps, jobs: recording } }));
    const body = newUser();
    expect((await callOn(app, "POST", "/users", { body })).status).toBe(201);
    // The job saw the new user in its transaction, before anyone else could.
    expect(seen).toEqual([{ insideTx: true, outside: false }]);

    // A duplicate enqueues nothing.
    expectProblem(
      await callOn(app, "POST", "/users", { body: newUser({ username: body.username }) }),
      409,
      "username_taken",
    );
    expect(seen).toHaveLength(1);
  });

  test("no user without its job: a failing queue rolls the user back (500, nothing leaked)", async () => {
    const failing: JobQueue = {
      ...noJobs,
      async enqueueVerifyEmail() {
        throw new Error("queue down: secret internal detail");
      },
    };
    const app = createApp(await testHttpDeps({ services: { ...deps, jobs: failing } }));
    const body = newUser();
    const res = await callOn<ProblemJson>(app, "POST", "/users", { body });
    expectProblem(res, 500, "internal");
    expect(JSON.stringify(res.body)).not.toContain("secret internal detail");
    expect(await userRow(body.username)).toBeUndefined();
  });
});

// ---- GET /users/me -------------------------------------------------------------------------

describe("GET /users/me", () => {
  test("200: the caller, exactly as registered", async () => {
    const body = newUser();
    const created = await register(body);
    const { accessToken } = await logIn(body.username, body.password);
    const res = await call<UserJson>("GET", "/users/me", { token: accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created.body);
  });

  test("the Bearer scheme word is case-insensitive", async () => {
    const user = await signUp();
    for (const scheme of ["bearer", "BEARER", "Bearer"]) {
      const res = await call("GET", "/users/me", {
        headers: { Authorization: `${scheme} ${user.accessToken}` },
      });
      expect(res.status).toBe(200);
    }
  });

  test("401 without a token, with another scheme, or with a malformed header", async () => {
    const user = await signUp();
    expectProblem(await call("GET", "/users/me"), 401, "unauthenticated");
    for (const authorization of [
      "",
      `Basic ${user.accessToken}`,
      user.accessToken,
      `Bearer ${user.accessToken} extra`,
      "Bearer",
      "Bearer not-a-token",
    ]) {
      expectProblem(
        await call("GET", "/users/me", { headers: { Authorization: authorization } }),
        401,
        "unauthenticated",
      );
    }
  });
});

// ---- PATCH /users/{username} -------------------------------------------------------------

const patch = (user: Pick<TestUser, "accessToken">, username: string, body: unknown) =>
  call<UserJson>("PATCH", `/users/${username}`, { token: user.accessToken, body });

const me = (token: string) => call<UserJson>("GET", "/users/me", { token });

const renew = (refreshToken: string) =>
  call("POST", "/tokens/renew_access", { body: { refresh_token: refreshToken } });

describe("PATCH /users/{username}: only the fields present change", () => {
  test("TestUpdateUserOnlyFullName", async () => {
    const user = await signUp();
    const before = await userRow(user.username);
    const res = await patch(user, user.username, { full_name: "Новое Имя" });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(USER_FIELDS);
    expect(res.body.full_name).toBe("Новое Имя");
    const after = await userRow(user.username);
    expect(after).toEqual({ ...(before as NonNullable<typeof before>), fullName: "Новое Имя" });
    expect(res.body.password_changed_at).toBe(ZERO_TIME);
  });

  test("TestUpdateUserOnlyEmail", async () => {
    const user = await signUp();
    const before = await userRow(user.username);
    const email = `new.${user.username}@example.org`;
    const res = await patch(user, user.username, { email });
    expect(res.status).toBe(200);
    expect(res.body.email).toBe(email);
    expect(await userRow(user.username)).toEqual({
      ...(before as NonNullable<typeof before>),
      email,
    });
  });

  test("TestUpdateUserOnlyPassword", async () => {
    const user = await signUp();
    const before = await userRow(user.username);
    if (!before) throw new Error("user row missing");
    const res = await patch(user, user.username, { password: "a brand new password" });
    expect(res.status).toBe(200);
    const after = await userRow(user.username);
    if (!after) throw new Error("user row missing");
    expect(after.hashedPassword).not.toBe(before.hashedPassword);
    expect(after.hashedPassword).toMatch(BCRYPT_HASH);
    expect(after.passwordChangedAt.getTime()).toBeGreaterThan(before.passwordChangedAt.getTime());
    const { hashedPassword: _a, passwordChangedAt: _b, ...restAfter } = after;
    const { hashedPassword: _c, passwordChangedAt: _d, ...restBefore } = before;
    expect(restAfter).toEqual(restBefore);
  });

  test("TestUpdateUserAllFields", async () => {
    const user = await signUp();
    const before = await userRow(user.username);
    if (!before) throw new Error("user row missing");
    const email = `all.${user.username}@example.net`;
    const res = await patch(user, user.username, {
      full_name: "All New",
      email,
      password: "another new password",
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ username: user.username, full_name: "All New", email });
    const after = await userRow(user.username);
    expect(after?.fullName).toBe("All New");
    expect(after?.email).toBe(email);
    expect(after?.hashedPassword).not.toBe(before.hashedPassword);
    expect(after?.createdAt).toEqual(before.createdAt);
    expect(after?.role).toBe(before.role);
  });

  test("the response is the user as now stored, and GET /users/me agrees", async () => {
    const user = await signUp();
    const res = await patch(user, user.username, { full_name: "Shown Everywhere" });
    expect((await me(user.accessToken)).body).toEqual(res.body);
  });
});

describe("PATCH /users/{username}: TestUpdateUserAPI", () => {
  const changes = (user: TestUser) => ({
    full_name: "Changed Name",
    email: `changed.${user.username}@example.com`,
  });

  test("OK: a depositor updates themself", async () => {
    const user = await signUp();
    const res = await patch(user, user.username, changes(user));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ username: user.username, ...changes(user) });
  });

  test("BankerCanUpdateUserInfo", async () => {
    const user = await signUp();
    const banker = await testBanker();
    const res = await patch(banker, user.username, changes(user));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ username: user.username, ...changes(user) });
    expect((await me(user.accessToken)).body).toMatchObject(changes(user));
  });

  test("OtherDepositorCannotUpdateThisUserInfo: 403, nothing changes", async () => {
    const user = await signUp();
    const other = await signUp();
    const before = await userRow(user.username);
    expectProblem(await patch(other, user.username, changes(user)), 403, "forbidden");
    expectProblem(await patch(other, user.username, { password: "hijacked pw" }), 403, "forbidden");
    expect(await userRow(user.username)).toEqual(before);
  });

  test("UserNotFound: 404 for a banker; a depositor gets 403 (no user enumeration)", async () => {
    const banker = await testBanker();
    const depositor = await signUp();
    const missing = uniqueName("ghost");
    expectProblem(await patch(banker, missing, { full_name: "Nobody" }), 404, "not_found");
    expectProblem(await patch(depositor, missing, { full_name: "Nobody" }), 403, "forbidden");
  });

  test("InvalidEmail: 400 naming email", async () => {
    const user = await signUp();
    expectInvalid(await patch(user, user.username, { email: "invalid-email" }), ["email"]);
  });

  test("ExpiredToken: 401 token_expired", async () => {
    const user = await signUp();
    const { token } = await deps.tokens.create({
      username: user.username,
      role: "depositor",
      sessionId: user.sessionId,
      tokenType: "access",
      durationMs: -60_000,
    });
    expectProblem(
      await patch({ accessToken: token }, user.username, changes(user)),
      401,
      "token_expired",
    );
  });

  test("NoAuthorization: 401 unauthenticated", async () => {
    const user = await signUp();
    expectProblem(
      await call("PATCH", `/users/${user.username}`, { body: changes(user) }),
      401,
      "unauthenticated",
    );
  });
});

describe("PATCH /users/{username}: validation", () => {
  test("an empty body {} is a 400 (at least one field)", async () => {
    const user = await signUp();
    expectProblem(await patch(user, user.username, {}), 400, "validation_failed");
  });

  test("every bad field is listed; present-but-empty fields are validated", async () => {
    const user = await signUp();
    expectInvalid(await patch(user, user.username, { full_name: "", email: "x", password: "1" }), [
      "email",
      "full_name",
      "password",
    ]);
    expectInvalid(await patch(user, user.username, { full_name: null }), ["full_name"]);
  });

  test("an unknown field (role, username) is a 400 naming it and nothing changes", async () => {
    const user = await signUp();
    expectInvalid(await patch(user, user.username, { full_name: "Ok Name", role: "banker" }), [
      "role",
    ]);
    expectInvalid(await patch(user, user.username, { username: "renamed" }), ["username"]);
    const now = await me(user.accessToken);
    expect(now.body).toMatchObject({ role: "depositor", full_name: user.fullName });
  });

  test("an invalid username in the path: 400 naming username", async () => {
    const banker = await testBanker();
    expectInvalid(await patch(banker, "Bad-Name", { full_name: "Any One" }), ["username"]);
  });
});

describe("PATCH /users/{username}: passwords", () => {
  test("a new password sets password_changed_at; it logs in and the old one does not", async () => {
    const user = await signUp();
    const before = Date.now();
    const res = await patch(user, user.username, { password: "the new password" });
    expect(res.status).toBe(200);
    expect(res.body.password_changed_at).toMatch(RFC3339_UTC);
    const changedAt = Date.parse(res.body.password_changed_at);
    expect(changedAt).toBeGreaterThan(Date.parse(res.body.created_at));
    expect(changedAt).toBeGreaterThanOrEqual(before - 5_000);
    expect(changedAt).toBeLessThanOrEqual(Date.now() + 5_000);

    await logIn(user.username, "the new password");
    expectProblem(
      await call("POST", "/users/login", {
        body: { username: user.username, password: user.password },
      }),
      401,
      "invalid_credentials",
    );
  });

  test("it revokes the user's OTHER sessions and keeps the caller's own", async () => {
    const user = await signUp(); // session A
    const other = await logIn(user.username, user.password); // session B
    expect((await me(other.accessToken)).status).toBe(200);

    expect((await patch(user, user.username, { password: "rotated password" })).status).toBe(200);

    expectProblem(await me(other.accessToken), 401, "unauthenticated");
    expectProblem(await renew(other.refreshToken), 401, "unauthenticated");
    // The caller's session keeps working, access and refresh.
    expect((await me(user.accessToken)).status).toBe(200);
    const renewed = await renew(user.refreshToken);
    expect(renewed.status).toBe(200);
    const [row] = await db.select().from(sessions).where(eq(sessions.id, user.sessionId));
    expect(row?.isBlocked).toBe(false);
  });

  test("a banker changing someone's password revokes ALL of that user's sessions", async () => {
    const user = await signUp();
    const second = await logIn(user.username, user.password);
    const banker = await testBanker();
    expect((await patch(banker, user.username, { password: "reset by banker" })).status).toBe(200);
    for (const session of [user, second]) {
      expectProblem(await me(session.accessToken), 401, "unauthenticated");
      expectProblem(await renew(session.refreshToken), 401, "unauthenticated");
    }
    expect((await me(banker.accessToken)).status).toBe(200);
    await logIn(user.username, "reset by banker");
  });

  test("changing only the name or email revokes nothing", async () => {
    const user = await signUp();
    const other = await logIn(user.username, user.password);
    await patch(user, user.username, {
      full_name: "Same Sessions",
      email: `same.${user.username}@example.com`,
    });
    expect((await me(other.accessToken)).status).toBe(200);
  });
});

describe("PATCH /users/{username}: emails", () => {
  const markVerified = (username: string) =>
    db.update(users).set({ isEmailVerified: true }).where(eq(users.username, username));

  test("a new address resets is_email_verified", async () => {
    const user = await signUp();
    await markVerified(user.username);
    expect((await me(user.accessToken)).body.is_email_verified).toBe(true);
    const res = await patch(user, user.username, { email: `moved.${user.username}@example.com` });
    expect(res.status).toBe(200);
    expect(res.body.is_email_verified).toBe(false);
    expect((await userRow(user.username))?.isEmailVerified).toBe(false);
  });

  test("the same address in other letter case keeps is_email_verified", async () => {
    const user = await signUp();
    await markVerified(user.username);
    const res = await patch(user, user.username, { email: user.email.toUpperCase() });
    expect(res.status).toBe(200);
    expect(res.body.email).toBe(user.email.toUpperCase());
    expect(res.body.is_email_verified).toBe(true);
    const same = await patch(user, user.username, { email: user.email.toUpperCase() });
    expect(same.body.is_email_verified).toBe(true);
  });

  test("a new address enqueues a verification email, in the update's transaction; a case change does not", async () => {
    const jobs: string[] = [];
    const recording: JobQueue = {
      ...noJobs,
      async enqueueVerifyEmail(tx, job) {
        const [row] = await tx.select().from(users).where(eq(users.username, job.username));
        jobs.push(row?.email ?? "(none)");
      },
    };
    const app = createApp(await testHttpDeps({ services: { ...deps, jobs: recording } }));
    const user = await signUp();
    const path = `/users/${user.username}`;
    const email = `queued.${user.username}@example.com`;
    const token = user.accessToken;
    expect((await callOn(app, "PATCH", path, { token, body: { email } })).status).toBe(200);
    expect(jobs).toEqual([email]);
    const upper = email.toUpperCase();
    expect((await callOn(app, "PATCH", path, { token, body: { email: upper } })).status).toBe(200);
    expect((await callOn(app, "PATCH", path, { token, body: { full_name: "X Y" } })).status).toBe(
      200,
    );
    expect(jobs).toEqual([email]);
  });

  test("an address another user has (any letter case): 409 email_taken", async () => {
    const owner = await signUp();
    const user = await signUp();
    expectProblem(await patch(user, user.username, { email: owner.email }), 409, "email_taken");
    expectProblem(
      await patch(user, user.username, { email: owner.email.toUpperCase() }),
      409,
      "email_taken",
    );
    expect((await userRow(user.username))?.email).toBe(user.email);
  });
});

describe("PATCH /users/{username}: the system user", () => {
  test("a banker cannot modify `bank`: 403", async () => {
    const banker = await testBanker();
    const before = await userRow("bank");
    expectProblem(await patch(banker, "bank", { full_name: "Robbed Bank" }), 403, "forbidden");
    expectProblem(await patch(banker, "bank", { password: "now i can log in" }), 403, "forbidden");
    expect(await userRow("bank")).toEqual(before);
    expectProblem(
      await call("POST", "/users/login", {
        body: { username: "bank", password: "now i can log in" },
      }),
      401,
      "invalid_credentials",
    );
  });

  test("a depositor cannot modify `bank`: 403", async () => {
    const user = await signUp();
    expectProblem(await patch(user, "bank", { full_name: "Robbed Bank" }), 403, "forbidden");
  });
});

// ---- GET /verify_email ---------------------------------------------------------------------

/** A verification link as the email job will write it (that job comes in a later issue). */
async function insertLink(
  user: Pick<TestUser, "username" | "email">,
  options: { email?: string; expiredAt?: Date } = {},
) {
  const secretCode = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
  const [row] = await db
    .insert(verifyEmails)
    .values({
      username: user.username,
      email: options.email ?? user.email,
      secretCode,
      ...(options.expiredAt ? { expiredAt: options.expiredAt } : {}),
    })
    .returning({ id: verifyEmails.id });
  if (!row) throw new Error("insert into verify_emails returned no row");
  return { id: row.id, secretCode };
}

const verify = (query: string) => call("GET", `/verify_email${query}`);
const linkQuery = (link: { id: number | string; secretCode: string }) =>
  `?email_id=${link.id}&secret_code=${encodeURIComponent(link.secretCode)}`;

describe("GET /verify_email", () => {
  test("the right id and code: 200 {is_verified: true}, and the user shows verified", async () => {
    const user = await signUp();
    const link = await insertLink(user);
    const res = await verify(linkQuery(link));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ is_verified: true });
    expect((await me(user.accessToken)).body.is_email_verified).toBe(true);
    const [row] = await db.select().from(verifyEmails).where(eq(verifyEmails.id, link.id));
    expect(row?.isUsed).toBe(true);
  });

  test("the same link twice: 422 verification_failed (contract fix: was 500)", async () => {
    const user = await signUp();
    const link = await insertLink(user);
    expect((await verify(linkQuery(link))).status).toBe(200);
    expectProblem(await verify(linkQuery(link)), 422, "verification_failed");
  });

  test("a wrong code: 422, and the user stays unverified", async () => {
    const user = await signUp();
    const link = await insertLink(user);
    const wrong = {
      ...link,
      secretCode: `${link.secretCode.slice(0, -1)}${link.secretCode.endsWith("A") ? "B" : "A"}`,
    };
    expectProblem(await verify(linkQuery(wrong)), 422, "verification_failed");
    // Another user's valid code does not open this link either.
    const other = await insertLink(await signUp());
    expectProblem(
      await verify(linkQuery({ id: link.id, secretCode: other.secretCode })),
      422,
      "verification_failed",
    );
    expect((await me(user.accessToken)).body.is_email_verified).toBe(false);
  });

  test("an unknown id: 422", async () => {
    const user = await signUp();
    const link = await insertLink(user);
    expectProblem(
      await verify(linkQuery({ id: link.id + 1_000_000, secretCode: link.secretCode })),
      422,
      "verification_failed",
    );
    expectProblem(
      await verify(linkQuery({ id: Number.MAX_SAFE_INTEGER, secretCode: link.secretCode })),
      422,
      "verification_failed",
    );
  });

  test("an expired link: 422, and the user stays unverified", async () => {
    const user = await signUp();
    const link = await insertLink(user, { expiredAt: new Date(Date.now() - 60_000) });
    expectProblem(await verify(linkQuery(link)), 422, "verification_failed");
    expect((await me(user.accessToken)).body.is_email_verified).toBe(false);
  });

  test("a link for an address that is not the user's current one: 422", async () => {
    const user = await signUp();
    const stale = await insertLink(user, { email: `old.${user.username}@example.com` });
    expectProblem(await verify(linkQuery(stale)), 422, "verification_failed");

    // A link issued before the user changed address no longer verifies anything.
    const issued = await insertLink(user);
    await patch(user, user.username, { email: `changed.${user.username}@example.com` });
    expectProblem(await verify(linkQuery(issued)), 422, "verification_failed");
    expect((await me(user.accessToken)).body.is_email_verified).toBe(false);
  });

  test("a link for the same address in other letter case still verifies", async () => {
    const user = await signUp();
    const link = await insertLink(user, { email: user.email.toUpperCase() });
    expect((await verify(linkQuery(link))).status).toBe(200);
  });

  test("malformed parameters: 400 naming the fields", async () => {
    const code = "Zq3oK2p9yGQ1w8sV4bXcTg";
    for (const id of ["0", "-1", "abc", "1.5", "", "1e3"]) {
      const res = await verify(`?email_id=${encodeURIComponent(id)}&secret_code=${code}`);
      expectInvalid(res, ["email_id"]);
    }
    expectInvalid(await verify(`?secret_code=${code}`), ["email_id"]);
    for (const secret of ["short", "has spaces in the secret code", "", "ü".repeat(20)]) {
      const res = await verify(`?email_id=1&secret_code=${encodeURIComponent(secret)}`);
      expectInvalid(res, ["secret_code"]);
    }
    expectInvalid(await verify("?email_id=1"), ["secret_code"]);
    expectInvalid(await verify(""), ["email_id", "secret_code"]);
    expectInvalid(await verify("?email_id=abc&secret_code=x"), ["email_id", "secret_code"]);
  });
});
