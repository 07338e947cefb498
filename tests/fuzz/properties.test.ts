import { beforeAll, describe, expect, test } from "bun:test";
import type { FuzzRequest } from "../support/fuzz/generators.ts";
import { type Api, loadApi, type Operation } from "../support/fuzz/openapi.ts";
import { check, type Exchange } from "../support/fuzz/properties.ts";
import { fuzzWorld, type World } from "../support/fuzz/world.ts";

/**
 * The fuzz checks themselves: each property turns a response that breaks it into a failure (a
 * fuzz pass that finds nothing means something only if these do), and a good response passes.
 */

let api: Api;
let world: World;

beforeAll(async () => {
  api = await loadApi();
  world = await fuzzWorld();
}, 60_000);

function operation(label: string): Operation {
  const found = api.operations.find((o) => o.label === label);
  if (!found) throw new Error(`no operation ${label}`);
  return found;
}

const ACCOUNT_AT = "2026-12-02T00:00:00Z";

/** An exchange as `send` would record it, as alice unless told otherwise. */
function exchange(
  status: number,
  body: unknown,
  options: {
    type?: string;
    auth?: FuzzRequest["auth"];
    requestId?: string | null;
    sent?: Record<string, string>;
    headers?: Record<string, string>;
  } = {},
): Exchange {
  const auth = options.auth ?? { kind: "actor", actor: "alice", scheme: "Bearer" };
  const headers = new Headers();
  const text = body === undefined ? "" : JSON.stringify(body);
  if (body !== undefined) {
    headers.set(
      "Content-Type",
      options.type ?? (status >= 400 ? "application/problem+json" : "application/json"),
    );
  }
  const requestId = options.requestId === undefined ? "rid-1" : options.requestId;
  if (requestId !== null) headers.set("X-Request-Id", requestId);
  for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);
  return {
    request: {
      method: "GET",
      pathParams: {},
      rawPath: {},
      query: [],
      rawQuery: "",
      headers: options.sent ?? {},
      auth,
      body: undefined,
      notes: [],
    },
    target: "/",
    shownHeaders: {},
    actor: auth.kind === "actor" ? world.actors[auth.actor] : undefined,
    status,
    headers,
    text,
    json: body,
  };
}

const problem = (status: number, code: string) => ({
  type: `/problems/${code}`,
  title: "t",
  status,
  detail: "d",
  code,
  request_id: "rid-1",
});

function aliceAccount() {
  const alice = world.actors.alice;
  return {
    id: [...alice.accounts][0],
    owner: alice.user.username,
    balance: 10,
    currency: "USD",
    created_at: ACCOUNT_AT,
  };
}

describe("the fuzz checks", () => {
  test("a documented success with a valid body passes", () => {
    expect(check(world, operation("GET /accounts/{id}"), exchange(200, aliceAccount()))).toEqual(
      [],
    );
  });

  test("a documented problem passes", () => {
    const reply = exchange(404, problem(404, "not_found"));
    expect(check(world, operation("GET /accounts/{id}"), reply)).toEqual([]);
  });

  test("a 5xx fails", () => {
    const failures = check(
      world,
      operation("GET /accounts/{id}"),
      exchange(500, problem(500, "internal")),
    );
    expect(failures.join()).toContain("a 500");
    expect(failures.join()).toContain("code internal not served");
  });

  test("an undocumented status fails", () => {
    const reply = exchange(409, problem(409, "account_exists"));
    expect(check(world, operation("GET /accounts/{id}"), reply).join()).toContain("not documented");
  });

  test("a body off its schema fails: a wrong type, a missing field, an undocumented field", () => {
    const op = operation("GET /accounts/{id}");
    const wrongType = { ...aliceAccount(), balance: "10" };
    const { created_at: _, ...missing } = aliceAccount();
    const extra = { ...aliceAccount(), hashed_password: "x" };
    for (const body of [wrongType, missing, extra]) {
      expect(check(world, op, exchange(200, body)).join()).toContain("does not match the schema");
    }
  });

  test("an error that is not problem+json, or has an unknown code, status or type, fails", () => {
    const op = operation("GET /accounts/{id}");
    expect(
      check(
        world,
        op,
        exchange(404, problem(404, "not_found"), { type: "application/json" }),
      ).join(),
    ).toContain("an error as application/json");
    expect(check(world, op, exchange(404, problem(404, "no_such_code"))).join()).toContain(
      "not served",
    );
    expect(
      check(world, op, exchange(404, { ...problem(404, "not_found"), status: 400 })).join(),
    ).toContain("problem status");
    expect(
      check(world, op, exchange(404, { ...problem(404, "not_found"), type: "about:blank" })).join(),
    ).toContain("problem type");
  });

  test("no X-Request-Id fails; a body on a 204 fails", () => {
    const op = operation("POST /users/logout");
    expect(check(world, op, exchange(204, undefined, { requestId: null })).join()).toContain(
      "X-Request-Id",
    );
    expect(check(world, op, exchange(204, { ok: true })).join()).toContain("a body on a response");
  });

  test("a client's UUID X-Request-Id not echoed fails", () => {
    const sent = { "X-Request-Id": "0b7f3c52-8f0e-4a57-9d6d-0a1b2c3d4e5f" };
    const op = operation("GET /accounts/{id}");
    expect(check(world, op, exchange(200, aliceAccount(), { sent }))).toEqual([
      "X-Request-Id rid-1: the client's 0b7f3c52-8f0e-4a57-9d6d-0a1b2c3d4e5f not echoed",
    ]);
    const echoed = exchange(200, aliceAccount(), { sent, requestId: sent["X-Request-Id"] });
    expect(check(world, op, echoed)).toEqual([]);
  });

  test("a documented response header off its schema fails, and a 429 without Retry-After", () => {
    const op = operation("POST /transfers");
    const limited = exchange(429, problem(429, "rate_limited"));
    expect(check(world, op, limited).join()).toContain("no retry-after header on a 429");
    const withRetry = exchange(429, problem(429, "rate_limited"), {
      headers: { "Retry-After": "3" },
    });
    expect(check(world, op, withRetry)).toEqual([]);
    const replayed = exchange(201, {}, { headers: { "Idempotent-Replayed": "yes" } });
    expect(check(world, op, replayed).join()).toContain("header idempotent-replayed: yes");
  });

  test("a 2xx without a valid token on a protected operation fails", () => {
    const reply = exchange(200, aliceAccount(), { auth: { kind: "none" } });
    expect(check(world, operation("GET /accounts/{id}"), reply).join()).toContain(
      "without a valid token",
    );
  });

  test("another customer's account, user, entry or transfer shown to a depositor fails", () => {
    const bob = world.actors.bob;
    const bobs = [...bob.accounts][0] ?? 0;
    const leaks: [string, unknown][] = [
      ["GET /accounts/{id}", { ...aliceAccount(), id: bobs, owner: bob.user.username }],
      [
        "GET /users/me",
        {
          username: bob.user.username,
          full_name: "Bob",
          email: bob.user.email,
          role: "depositor",
          is_email_verified: false,
          password_changed_at: ACCOUNT_AT,
          created_at: ACCOUNT_AT,
        },
      ],
      [
        "GET /accounts/{id}/entries",
        [{ id: 1, account_id: bobs, amount: 5, transfer_id: 1, created_at: ACCOUNT_AT }],
      ],
      [
        "GET /transfers/{id}",
        { id: 1, from_account_id: bobs, to_account_id: bobs, amount: 5, created_at: ACCOUNT_AT },
      ],
    ];
    for (const [label, body] of leaks) {
      const failures = check(world, operation(label), exchange(200, body));
      expect(failures.join()).toContain("alice");
      expect(failures.join()).toContain("sees");
    }
  });

  test("a banker may see anyone's account", () => {
    const bob = world.actors.bob;
    const body = { ...aliceAccount(), id: [...bob.accounts][0], owner: bob.user.username };
    const reply = exchange(200, body, {
      auth: { kind: "actor", actor: "banker", scheme: "Bearer" },
    });
    expect(check(world, operation("GET /accounts/{id}"), reply)).toEqual([]);
  });
});
