import { describe, expect, test } from "bun:test";
import { call, expectProblem, signUp, type TestUser } from "../support/app.ts";
import { expectInvalid, TIMESTAMP } from "../support/ledger-http.ts";

/** Contract, "Users and sessions": GET /users/me/sessions and DELETE /users/me/sessions/{id}. */

interface SessionJson {
  session_id: string;
  user_agent: string;
  client_ip: string;
  created_at: string;
  renewed_at: string | null;
  expires_at: string;
  current: boolean;
}

interface LoginJson {
  session_id: string;
  access_token: string;
  refresh_token: string;
}

async function loginWith(user: TestUser, userAgent: string): Promise<LoginJson> {
  const res = await call<LoginJson>("POST", "/users/login", {
    body: { username: user.username, password: user.password },
    headers: { "User-Agent": userAgent },
  });
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body;
}

const list = (token: string) => call<SessionJson[]>("GET", "/users/me/sessions", { token });

describe("GET /users/me/sessions", () => {
  test("the caller's active sessions: user agent, client IP, created, renewed, current", async () => {
    const user = await signUp();
    const phone = await loginWith(user, "Phone/1.0");
    const laptop = await loginWith(user, "Laptop/2.0");
    const someoneElse = await signUp();
    const res = await list(laptop.access_token);
    expect(res.status).toBe(200);
    const byId = new Map(res.body.map((s) => [s.session_id, s]));
    expect([...byId.keys()].sort()).toEqual(
      [user.sessionId, phone.session_id, laptop.session_id].sort(),
    );
    expect(byId.has(someoneElse.sessionId)).toBe(false);
    const mine = byId.get(laptop.session_id);
    expect(Object.keys(mine ?? {}).sort()).toEqual([
      "client_ip",
      "created_at",
      "current",
      "expires_at",
      "renewed_at",
      "session_id",
      "user_agent",
    ]);
    expect(mine).toMatchObject({ user_agent: "Laptop/2.0", current: true, renewed_at: null });
    expect(mine?.client_ip).toBeString();
    expect(mine?.created_at).toMatch(TIMESTAMP);
    expect(mine?.expires_at).toMatch(TIMESTAMP);
    expect(byId.get(phone.session_id)).toMatchObject({ user_agent: "Phone/1.0", current: false });

    // A renewal shows as renewed_at.
    const renewed = await call("POST", "/tokens/renew_access", {
      body: { refresh_token: phone.refresh_token },
    });
    expect(renewed.status).toBe(200);
    const after = (await list(laptop.access_token)).body.find(
      (s) => s.session_id === phone.session_id,
    );
    expect(after?.renewed_at).toMatch(TIMESTAMP);
  });

  test("no token: 401", async () => {
    expectProblem(await call("GET", "/users/me/sessions"), 401, "unauthenticated");
  });
});

describe("DELETE /users/me/sessions/{session_id}", () => {
  test("ends that session: its access and refresh tokens stop; it leaves the list", async () => {
    const user = await signUp();
    const other = await loginWith(user, "Other/1.0");
    expect((await call("GET", "/users/me", { token: other.access_token })).status).toBe(200);
    const res = await call("DELETE", `/users/me/sessions/${other.session_id}`, {
      token: user.accessToken,
    });
    expect(res.status).toBe(204);
    expect(String(res.body)).toBe("");
    expectProblem(
      await call("GET", "/users/me", { token: other.access_token }),
      401,
      "unauthenticated",
    );
    expectProblem(
      await call("POST", "/tokens/renew_access", { body: { refresh_token: other.refresh_token } }),
      401,
      "unauthenticated",
    );
    const left = (await list(user.accessToken)).body.map((s) => s.session_id);
    expect(left).toEqual([user.sessionId]);
    // Ended already: 404; the caller's own session still works.
    expectProblem(
      await call("DELETE", `/users/me/sessions/${other.session_id}`, { token: user.accessToken }),
      404,
      "not_found",
    );
    expect((await call("GET", "/users/me", { token: user.accessToken })).status).toBe(200);
  });

  test("another user's session or an unknown one: 404, and it goes on", async () => {
    const [me, them] = [await signUp(), await signUp()];
    for (const id of [them.sessionId, crypto.randomUUID()]) {
      expectProblem(
        await call("DELETE", `/users/me/sessions/${id}`, { token: me.accessToken }),
        404,
        "not_found",
      );
    }
    expect((await call("GET", "/users/me", { token: them.accessToken })).status).toBe(200);
  });

  test("one's own current session: ended like a logout", async () => {
    const user = await signUp();
    const res = await call("DELETE", `/users/me/sessions/${user.sessionId}`, {
      token: user.accessToken,
    });
    expect(res.status).toBe(204);
    expectProblem(
      await call("GET", "/users/me", { token: user.accessToken }),
      401,
      "unauthenticated",
    );
  });

  test("a session id that is not a UUID: 400 naming session_id; no token: 401", async () => {
    const user = await signUp();
    for (const id of ["abc", "123", "5b0e3f7a-7d7c-4a51-9b8e-3c1f2a6d9e1"]) {
      expectInvalid(
        await call("DELETE", `/users/me/sessions/${id}`, { token: user.accessToken }),
        "session_id",
      );
    }
    expectProblem(
      await call("DELETE", `/users/me/sessions/${crypto.randomUUID()}`),
      401,
      "unauthenticated",
    );
  });
});
