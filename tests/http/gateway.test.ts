import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import type { Database } from "../../src/core/db/client.ts";
import { verifyEmails } from "../../src/core/db/schema.ts";
import { sendVerifyEmail } from "../../src/core/jobs/send-verify-email.ts";
import type { Email, Mailer } from "../../src/core/mail/mailer.ts";
import {
  call,
  expectProblem,
  type Reply,
  signUp,
  type TestUser,
  testBanker,
} from "../support/app.ts";
import { type TestContext, testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { jobTable } from "../support/jobs.ts";

/**
 * The original simplebank's gateway routes (grpc-gateway: /v1/create_user, /v1/login_user,
 * /v1/update_user, /v1/verify_email) with its JSON (protojson: proto names, lowerCamel names
 * accepted, unknown body fields ignored but unknown query parameters refused, zero values left
 * out, 200 on success), on the same services as REST; errors stay problem+json. The original's gapi test tables are ported by name.
 */

interface GatewayUser {
  username: string;
  full_name: string;
  email: string;
  password_changed_at: string;
  created_at: string;
  role: string;
  is_email_verified?: true;
}

interface UserResponse {
  user: GatewayUser;
}

interface LoginUserResponse {
  user: GatewayUser;
  session_id: string;
  access_token: string;
  refresh_token: string;
  access_token_expires_at: string;
  refresh_token_expires_at: string;
}

interface ProblemJson {
  code: string;
  detail: string;
  errors?: { field: string; message: string }[];
}

/** pb.User's keys while `is_email_verified` is false: protojson leaves it out. */
const UNVERIFIED_USER_KEYS = [
  "created_at",
  "email",
  "full_name",
  "password_changed_at",
  "role",
  "username",
];
const VERIFIED_USER_KEYS = [...UNVERIFIED_USER_KEYS, "is_email_verified"].sort();
const LOGIN_KEYS = [
  "access_token",
  "access_token_expires_at",
  "refresh_token",
  "refresh_token_expires_at",
  "session_id",
  "user",
];
const ZERO_TIME = "0001-01-01T00:00:00Z";
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MINUTE = 60_000;
const APP_BASE_URL = "https://bank.example.test";

let deps: TestContext;
let db: Database;
let sql: postgres.Sql;
let jobs: ReturnType<typeof jobTable>;
beforeAll(async () => {
  const database = await testDatabase();
  deps = database.deps;
  db = database.handle.db;
  sql = postgres(database.url, { max: 1, onnotice: () => {} });
  jobs = jobTable(sql);
});

afterAll(async () => {
  await sql?.end();
});

/** A valid CreateUserRequest by proto names, unique per call, with any field replaced. */
function newUser(overrides: Record<string, unknown> = {}) {
  const username = uniqueName("gw");
  return {
    username,
    full_name: "Alice Liddell",
    email: `${username}@example.com`,
    password: `pw-${crypto.randomUUID()}`,
    ...overrides,
  };
}

const createUser = (body: unknown, headers?: Record<string, string>) =>
  call<UserResponse>("POST", "/v1/create_user", { body, headers });

const loginUser = (body: unknown) => call<LoginUserResponse>("POST", "/v1/login_user", { body });

const updateUser = (token: string | undefined, body: unknown, headers?: Record<string, string>) =>
  call<UserResponse>("PATCH", "/v1/update_user", { token, body, headers });

const verifyEmail = (query: string) => call("GET", `/v1/verify_email${query}`);

/** A user registered and logged in through the gateway. */
async function gatewayUser(): Promise<{ body: ReturnType<typeof newUser>; token: string }> {
  const body = newUser();
  const created = await createUser(body);
  if (created.status !== 200) throw new Error(`create_user: ${JSON.stringify(created.body)}`);
  const login = await loginUser({ username: body.username, password: body.password });
  if (login.status !== 200) throw new Error(`login_user: ${JSON.stringify(login.body)}`);
  return { body, token: login.body.access_token };
}

const keysOf = (value: unknown) => Object.keys(value as object).sort();

function fieldsOf(reply: Reply): string[] {
  return ((reply.body as ProblemJson).errors ?? []).map((e) => e.field).sort();
}

/** 400 validation_failed (problem+json) naming exactly `fields`. */
function expectInvalid(reply: Reply, fields: string[]): void {
  expectProblem(reply, 400, "validation_failed");
  expect(fieldsOf(reply)).toEqual([...fields].sort());
}

function messageOf(reply: Reply, field: string): string | undefined {
  return (reply.body as ProblemJson).errors?.find((e) => e.field === field)?.message;
}

function expectUser(user: GatewayUser, expected: ReturnType<typeof newUser>): void {
  expect(keysOf(user)).toEqual(UNVERIFIED_USER_KEYS);
  expect(user).toEqual({
    username: expected.username,
    full_name: expected.full_name,
    email: expected.email,
    password_changed_at: ZERO_TIME,
    created_at: expect.stringMatching(RFC3339_UTC),
    role: "depositor",
  });
}

/** The proto's field order, as protojson writes it. */
const PB_USER_ORDER = [
  "username",
  "full_name",
  "email",
  "password_changed_at",
  "created_at",
  "role",
  "is_email_verified",
];

// ---- POST /v1/create_user ----------------------------------------------------------------

describe("POST /v1/create_user", () => {
  test("TestCreateUserAPI > OK: 200 (not REST's 201) with exactly {user}, is_email_verified left out", async () => {
    const body = newUser();
    const before = Date.now();
    const res = await createUser(body);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toStartWith("application/json");
    expect(keysOf(res.body)).toEqual(["user"]);
    expectUser(res.body.user, body);
    expect(Object.keys(res.body.user)).toEqual(PB_USER_ORDER.filter((k) => k in res.body.user));
    const created = Date.parse(res.body.user.created_at);
    expect(created).toBeGreaterThanOrEqual(before - 5_000);
    expect(created).toBeLessThanOrEqual(Date.now() + 5_000);
    expect(JSON.stringify(res.body)).not.toContain(body.password);
    expect(JSON.stringify(res.body)).not.toContain("$2");
  });

  test("the same service as POST /users: the user logs in over REST and queues its verification email", async () => {
    const body = newUser();
    expect((await createUser(body)).status).toBe(200);
    const login = await call<{ access_token: string }>("POST", "/users/login", {
      body: { username: body.username, password: body.password },
    });
    expect(login.status).toBe(200);
    const me = await call("GET", "/users/me", { token: login.body.access_token });
    expect(me.body).toMatchObject({
      username: body.username,
      full_name: body.full_name,
      email: body.email,
      role: "depositor",
      is_email_verified: false,
    });
    expect(await jobs.forUser(body.username)).toHaveLength(1);
  });

  test("TestCreateUserAPI > DuplicateUsername: 409 username_taken, against REST's users too", async () => {
    const first = newUser();
    expect((await createUser(first)).status).toBe(200);
    expectProblem(await createUser(newUser({ username: first.username })), 409, "username_taken");
    const rest = await signUp();
    expectProblem(await createUser(newUser({ username: rest.username })), 409, "username_taken");
    expectProblem(
      await createUser(newUser({ email: rest.email.toUpperCase() })),
      409,
      "email_taken",
    );
  });

  test("TestCreateUserAPI > InvalidEmail: 400 naming email, with REST's message", async () => {
    const res = await createUser(newUser({ email: "invalid-email" }));
    expectInvalid(res, ["email"]);
    const rest = await call("POST", "/users", { body: newUser({ email: "invalid-email" }) });
    expect(messageOf(res, "email")).toBe(messageOf(rest, "email") ?? "REST gave none");
  });

  test("TestCreateUserAPI > InvalidUsername, TooShortPassword: 400 naming the field", async () => {
    expectInvalid(await createUser(newUser({ username: "invalid-user#1" })), ["username"]);
    expectInvalid(await createUser(newUser({ password: "123" })), ["password"]);
  });

  test("lowerCamel JSON names are accepted (fullName for full_name)", async () => {
    const { full_name, ...body } = newUser();
    const res = await createUser({ ...body, fullName: full_name });
    expect(res.status).toBe(200);
    expectUser(res.body.user, { ...body, full_name });
  });

  test("errors name the proto field whichever spelling was sent, with REST's message", async () => {
    const { full_name: _, ...body } = newUser();
    const camel = await createUser({ ...body, fullName: "R2-D2" });
    expectInvalid(camel, ["full_name"]);
    const proto = await createUser({ ...body, full_name: "R2-D2" });
    const rest = await call("POST", "/users", { body: { ...body, full_name: "R2-D2" } });
    expect(messageOf(camel, "full_name")).toBe(messageOf(rest, "full_name") ?? "REST gave none");
    expect(messageOf(proto, "full_name")).toBe(messageOf(rest, "full_name") ?? "REST gave none");
  });

  test("both spellings of one field: 400 naming it (protojson's duplicate field)", async () => {
    const body = newUser();
    const res = await createUser({ ...body, fullName: body.full_name });
    expectInvalid(res, ["full_name"]);
    expect(messageOf(res, "full_name")).toBe("is given twice: as full_name and as fullName");
  });

  test("unknown fields are ignored (DiscardUnknown): no role or verification by mass assignment", async () => {
    const body = newUser();
    const res = await createUser({
      ...body,
      role: "banker",
      is_email_verified: true,
      isEmailVerified: true,
      nickname: "ally",
    });
    expect(res.status).toBe(200);
    expectUser(res.body.user, body);
  });

  test("null is an absent field; every missing field is named at once", async () => {
    expectInvalid(await createUser(newUser({ email: null })), ["email"]);
    expectInvalid(await createUser({}), ["email", "full_name", "password", "username"]);
  });

  test("an empty body is an empty message: 400 validation_failed naming every field", async () => {
    const all = ["email", "full_name", "password", "username"];
    expectInvalid(await call("POST", "/v1/create_user"), all);
    for (const body of ["", "  \n"]) {
      expectInvalid(await createUser(body, { "Content-Type": "application/json" }), all);
    }
  });

  test("not a JSON object: 400 on (body); not JSON: 400 malformed_json; not application/json: 415", async () => {
    for (const raw of ["[]", "42", '"alice"', "null"]) {
      const res = await createUser(raw);
      expectInvalid(res, ["(body)"]);
    }
    expectProblem(await createUser('{"username": "alice",'), 400, "malformed_json");
    expectProblem(
      await createUser(JSON.stringify(newUser()), { "Content-Type": "text/plain" }),
      415,
      "unsupported_media_type",
    );
  });
});

// ---- POST /v1/login_user -----------------------------------------------------------------

describe("POST /v1/login_user", () => {
  test("OK: 200 with exactly the LoginUserResponse fields; the tokens work on REST", async () => {
    const body = newUser();
    expect((await createUser(body)).status).toBe(200);
    const res = await loginUser({ username: body.username, password: body.password });
    expect(res.status).toBe(200);
    expect(keysOf(res.body)).toEqual(LOGIN_KEYS);
    expect(Object.keys(res.body)).toEqual([
      "user",
      "session_id",
      "access_token",
      "refresh_token",
      "access_token_expires_at",
      "refresh_token_expires_at",
    ]);
    expectUser(res.body.user, body);
    expect(res.body.session_id).toMatch(UUID);
    expect(res.body.access_token_expires_at).toMatch(RFC3339_UTC);
    expect(res.body.refresh_token_expires_at).toMatch(RFC3339_UTC);
    expect(Date.parse(res.body.access_token_expires_at)).toBeGreaterThan(Date.now());

    const me = await call("GET", "/users/me", { token: res.body.access_token });
    expect(me.status).toBe(200);
    const renewed = await call("POST", "/tokens/renew_access", {
      body: { refresh_token: res.body.refresh_token },
    });
    expect(renewed.status).toBe(200);
  });

  test("the tokens are never cached: Cache-Control: no-store, on success and failure", async () => {
    const user = await signUp();
    const ok = await loginUser({ username: user.username, password: user.password });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Cache-Control")).toBe("no-store");
    const refused = await loginUser({ username: user.username, password: `${user.password}x` });
    expectProblem(refused, 401, "invalid_credentials");
    expect(refused.headers.get("Cache-Control")).toBe("no-store");
  });

  test("a user registered over REST logs in here; unknown fields are ignored", async () => {
    const user = await signUp();
    const res = await loginUser({ username: user.username, password: user.password, otp: "1" });
    expect(res.status).toBe(200);
    expect(res.body.user.username).toBe(user.username);
  });

  test("a wrong password or an unknown user: 401 invalid_credentials (the original answered 404)", async () => {
    const user = await signUp();
    const wrong = await loginUser({ username: user.username, password: `${user.password}x` });
    expectProblem(wrong, 401, "invalid_credentials");
    expect(wrong.headers.get("WWW-Authenticate")).toStartWith("Bearer");
    const unknown = await loginUser({ username: uniqueName("nobody"), password: "some password" });
    expectProblem(unknown, 401, "invalid_credentials");
  });

  test("invalid or missing fields: 400 naming them; an empty body names both", async () => {
    expectInvalid(await loginUser({ username: "invalid-user#1", password: "some password" }), [
      "username",
    ]);
    expectInvalid(await loginUser({ username: "alice" }), ["password"]);
    expectInvalid(await call("POST", "/v1/login_user"), ["password", "username"]);
  });
});

// ---- PATCH /v1/update_user ---------------------------------------------------------------

describe("PATCH /v1/update_user", () => {
  test("TestUpdateUserAPI > OK: the user changes their name and email; 200 with exactly {user}", async () => {
    const { body, token } = await gatewayUser();
    const email = `new.${body.username}@example.com`;
    const res = await updateUser(token, {
      username: body.username,
      full_name: "New Name",
      email,
    });
    expect(res.status).toBe(200);
    expect(keysOf(res.body)).toEqual(["user"]);
    expectUser(res.body.user, { ...body, full_name: "New Name", email });
  });

  test("lowerCamel names are accepted; a new password works for the next login", async () => {
    const { body, token } = await gatewayUser();
    const password = `new-${crypto.randomUUID()}`;
    const res = await updateUser(token, {
      username: body.username,
      fullName: "Camel Case",
      password,
    });
    expect(res.status).toBe(200);
    expect(res.body.user.full_name).toBe("Camel Case");
    expect(res.body.user.password_changed_at).not.toBe(ZERO_TIME);
    expect(res.body.user.password_changed_at).toMatch(RFC3339_UTC);
    expect((await loginUser({ username: body.username, password })).status).toBe(200);
    expectProblem(
      await loginUser({ username: body.username, password: body.password }),
      401,
      "invalid_credentials",
    );
  });

  test("TestUpdateUserAPI > BankerCanUpdateUserInfo: 200", async () => {
    const banker = await testBanker();
    const { body } = await gatewayUser();
    const res = await updateUser(banker.accessToken, {
      username: body.username,
      full_name: "Renamed By Banker",
    });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({
      username: body.username,
      full_name: "Renamed By Banker",
    });
  });

  test("TestUpdateUserAPI > OtherDepositorCannotUpdateThisUserInfo: 403 forbidden", async () => {
    const other: TestUser = await signUp();
    const { body } = await gatewayUser();
    expectProblem(
      await updateUser(other.accessToken, { username: body.username, full_name: "Hijacked" }),
      403,
      "forbidden",
    );
  });

  test("TestUpdateUserAPI > UserNotFound: a banker updating no such user gets 404 not_found", async () => {
    const banker = await testBanker();
    expectProblem(
      await updateUser(banker.accessToken, { username: uniqueName("ghost"), full_name: "Nobody" }),
      404,
      "not_found",
    );
  });

  test("TestUpdateUserAPI > InvalidEmail: 400 naming email", async () => {
    const { body, token } = await gatewayUser();
    expectInvalid(await updateUser(token, { username: body.username, email: "invalid-email" }), [
      "email",
    ]);
  });

  test("TestUpdateUserAPI > ExpiredToken: 401 token_expired", async () => {
    const user = await signUp();
    const { token } = await deps.tokens.create({
      username: user.username,
      role: "depositor",
      sessionId: user.sessionId,
      tokenType: "access",
      durationMs: -MINUTE,
    });
    const res = await updateUser(token, { username: user.username, full_name: "Too Late" });
    expectProblem(res, 401, "token_expired");
    expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
  });

  test("TestUpdateUserAPI > NoAuthorization: 401 unauthenticated", async () => {
    const user = await signUp();
    expectProblem(
      await updateUser(undefined, { username: user.username, full_name: "Anonymous" }),
      401,
      "unauthenticated",
    );
  });

  test("nothing to change, or no username: 400 naming (body) / username", async () => {
    const { body, token } = await gatewayUser();
    const nothing = await updateUser(token, { username: body.username, role: "banker" });
    expectInvalid(nothing, ["(body)"]);
    expect(messageOf(nothing, "(body)")).toBe("give at least one of full_name, email, password");
    expectInvalid(await updateUser(token, { full_name: "No Username" }), ["username"]);
    expectInvalid(await updateUser(token, "", { "Content-Type": "application/json" }), [
      "username",
    ]);
  });

  test("unknown fields are ignored: a role in the body changes nothing", async () => {
    const { body, token } = await gatewayUser();
    const res = await updateUser(token, {
      username: body.username,
      full_name: "Still Depositor",
      role: "banker",
      isEmailVerified: true,
    });
    expect(res.status).toBe(200);
    expectUser(res.body.user, { ...body, full_name: "Still Depositor" });
  });
});

// ---- GET /v1/verify_email ----------------------------------------------------------------

/** A verification link row, as the email job writes one (tests/http/users.test.ts does the same). */
async function insertLink(user: { username: string; email: string }) {
  const secretCode = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
  const [row] = await db
    .insert(verifyEmails)
    .values({ username: user.username, email: user.email, secretCode })
    .returning({ id: verifyEmails.id });
  if (!row) throw new Error("insert into verify_emails returned no row");
  return { id: row.id, secretCode };
}

/**
 * The link of the email the job queued by create_user sends: the job's own handler runs here,
 * with a mailer that keeps what it is given (the job is the one pg-boss holds for this user).
 */
async function mailedLink(username: string): Promise<URL> {
  const [job] = await jobs.forUser(username);
  if (!job) throw new Error(`no send_verify_email job for ${username}`);
  const sent: Email[] = [];
  const mailer: Mailer = {
    kind: "capture",
    async send(email) {
      sent.push(email);
      return { id: `captured-${sent.length}` };
    },
  };
  const outcome = await sendVerifyEmail(
    { db, mailer, appBaseUrl: APP_BASE_URL },
    { id: job.id, data: job.data },
  );
  expect(outcome.status).toBe("completed");
  const line = (sent[0]?.text ?? "")
    .split("\n")
    .find((l) => l.startsWith(`${APP_BASE_URL}/verify_email?`));
  if (!line) throw new Error(`no link in the email: ${sent[0]?.text}`);
  return new URL(line.trim());
}

describe("GET /v1/verify_email", () => {
  test("the emailed link's query: 200 exactly {is_verified: true}; is_email_verified then appears", async () => {
    const { body, token } = await gatewayUser();
    const link = await mailedLink(body.username);
    const res = await verifyEmail(link.search);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toStartWith("application/json");
    expect(res.body).toEqual({ is_verified: true });

    // true is not a zero value: now present, in every response carrying the user.
    const login = await loginUser({ username: body.username, password: body.password });
    expect(keysOf(login.body.user)).toEqual(VERIFIED_USER_KEYS);
    expect(login.body.user.is_email_verified).toBe(true);
    expect(Object.keys(login.body.user)).toEqual(PB_USER_ORDER);
    const updated = await updateUser(token, { username: body.username, full_name: "Verified One" });
    expect(keysOf(updated.body.user)).toEqual(VERIFIED_USER_KEYS);
    expect(updated.body.user.is_email_verified).toBe(true);

    // The same link twice: 422 verification_failed.
    expectProblem(await verifyEmail(link.search), 422, "verification_failed");

    // A new address is unverified again: the field is left out once more.
    const moved = await updateUser(token, {
      username: body.username,
      email: `moved.${body.username}@example.com`,
    });
    expect(keysOf(moved.body.user)).toEqual(UNVERIFIED_USER_KEYS);
  });

  test("lowerCamel parameters (emailId, secretCode) are accepted; unknown ones are 400 naming them", async () => {
    const user = await signUp();
    const link = await insertLink(user);
    const query = `?emailId=${link.id}&secretCode=${encodeURIComponent(link.secretCode)}`;
    const refused = await verifyEmail(`${query}&utm_source=mail`);
    expectInvalid(refused, ["utm_source"]);
    expect(messageOf(refused, "utm_source")).toBe("is not a known query parameter");
    const res = await verifyEmail(query);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ is_verified: true });
    const me = await call("GET", "/users/me", { token: user.accessToken });
    expect(me.body.is_email_verified).toBe(true);
  });

  test("a wrong code: 422 verification_failed", async () => {
    const user = await signUp();
    const link = await insertLink(user);
    const wrong = `${link.secretCode.slice(0, -1)}${link.secretCode.endsWith("A") ? "B" : "A"}`;
    expectProblem(
      await verifyEmail(`?email_id=${link.id}&secret_code=${wrong}`),
      422,
      "verification_failed",
    );
  });

  test("bad or missing parameters: 400 naming them by their proto names", async () => {
    const code = "Zq3oK2p9yGQ1w8sV4bXcTg";
    expectInvalid(await verifyEmail(`?email_id=abc&secret_code=${code}`), ["email_id"]);
    expectInvalid(await verifyEmail(`?emailId=abc&secretCode=short`), ["email_id", "secret_code"]);
    expectInvalid(await verifyEmail(`?secretCode=${code}`), ["email_id"]);
    expectInvalid(await verifyEmail(""), ["email_id", "secret_code"]);
    const twice = await verifyEmail(`?email_id=1&emailId=1&secret_code=${code}`);
    expectInvalid(twice, ["email_id"]);
    expect(messageOf(twice, "email_id")).toBe("is given twice: as email_id and as emailId");
  });
});

// ---- the document --------------------------------------------------------------------------

interface Schema {
  $ref?: string;
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  allOf?: Schema[];
  anyOf?: Schema[];
  not?: Schema;
}

interface Operation {
  tags?: string[];
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }> }>;
}

describe("GET /openapi.json documents the gateway routes", () => {
  let doc: {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, Schema> };
    tags: { name: string; description?: string }[];
  };
  beforeAll(async () => {
    const reply = await call<typeof doc>("GET", "/openapi.json");
    doc = reply.body;
  });
  const schema = (ref: Schema | undefined) =>
    doc.components.schemas[(ref?.$ref ?? "").replace("#/components/schemas/", "")] ?? {};
  const operation = (method: string, path: string) => {
    const op = doc.paths[path]?.[method];
    if (!op) throw new Error(`${method} ${path} is not documented`);
    return op;
  };
  const TAG = "Gateway (original clients)";
  const ROUTES = [
    ["post", "/v1/create_user"],
    ["post", "/v1/login_user"],
    ["patch", "/v1/update_user"],
    ["get", "/v1/verify_email"],
  ] as const;

  test("the four routes, tagged, each saying that errors are problem+json unlike the original's", () => {
    expect(doc.tags.map((t) => t.name)).toContain(TAG);
    const tagged = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) => op.tags?.includes(TAG))
        .map(([method]) => `${method} ${path}`),
    );
    expect(tagged.sort()).toEqual(ROUTES.map(([m, p]) => `${m} ${p}`).sort());
    for (const [method, path] of ROUTES) {
      const op = operation(method, path);
      expect(op.description).toContain("problem+json");
      expect(op.description).toContain("{code, message, details}");
      expect(Object.keys(op.responses)).toContain("200");
      expect(Object.keys(op.responses)).not.toContain("201");
    }
  });

  test("request bodies take both spellings, one of them required, never both", () => {
    const body = schema(
      operation("post", "/v1/create_user").requestBody?.content["application/json"]?.schema,
    );
    expect(Object.keys(body.properties ?? {}).sort()).toEqual([
      "email",
      "fullName",
      "full_name",
      "password",
      "username",
    ]);
    expect(body.required?.sort()).toEqual(["email", "password", "username"]);
    expect(body.allOf).toContainEqual({
      anyOf: [{ required: ["full_name"] }, { required: ["fullName"] }],
    });
    expect(body.allOf).toContainEqual({ not: { required: ["full_name", "fullName"] } });
    expect(body.description).toContain("lowerCamel");
    expect(body.description).toContain("unknown body fields are ignored");

    const update = schema(
      operation("patch", "/v1/update_user").requestBody?.content["application/json"]?.schema,
    );
    expect(Object.keys(update.properties ?? {})).toContain("fullName");
    expect(update.required).toEqual(["username"]);
  });

  test("verify_email documents both spellings of its parameters", () => {
    const params = operation("get", "/v1/verify_email").parameters ?? [];
    expect(params.map((p) => p.name).sort()).toEqual([
      "emailId",
      "email_id",
      "secretCode",
      "secret_code",
    ]);
    for (const p of params) {
      expect(p.in).toBe("query");
      expect(p.description).toMatch(/required, as/i);
    }
  });

  test("responses: pb.User leaves is_email_verified out while false; all in proto names", () => {
    const created = schema(
      operation("post", "/v1/create_user").responses["200"]?.content?.["application/json"]?.schema,
    );
    const user = schema(created.properties?.user);
    expect(Object.keys(user.properties ?? {})).toEqual(PB_USER_ORDER);
    expect(user.required).not.toContain("is_email_verified");
    expect(user.description).toContain("zero value");
    expect(user.properties?.is_email_verified?.description).toContain("left out");
    const login = schema(
      operation("post", "/v1/login_user").responses["200"]?.content?.["application/json"]?.schema,
    );
    expect(Object.keys(login.properties ?? {})).toEqual([
      "user",
      "session_id",
      "access_token",
      "refresh_token",
      "access_token_expires_at",
      "refresh_token_expires_at",
    ]);
  });
});
