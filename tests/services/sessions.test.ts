import { beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { sessions } from "../../src/core/db/schema.ts";
import type { LoginResult } from "../../src/core/domain/types.ts";
import { login, renewAccessToken } from "../../src/core/services/sessions.ts";
import { createUser } from "../../src/core/services/users.ts";
import type { TestContext } from "../support/database.ts";
import { testDatabase } from "../support/database.ts";
import { errorCode, uniqueName } from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";

/**
 * Session rules the HTTP suites cannot reach with tokens a client could get: a refresh token
 * minted with the server's own key (deps.tokens, as a leaked key would let anyone do) that
 * names one user but another user's session.
 */

const HOUR = 60 * 60 * 1000;

let deps: TestContext;
beforeAll(async () => {
  deps = (await testDatabase()).deps;
});

async function loggedIn(): Promise<LoginResult> {
  const username = uniqueName();
  const password = "correct horse battery";
  const clientIp = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
  await createUser(
    deps,
    { username, password, fullName: "Session Test", email: `${username}@example.com` },
    { clientIp },
  );
  return login(deps, { username, password }, { userAgent: "sessions.test", clientIp });
}

describe("renewAccessToken", () => {
  test("a genuine refresh token naming another user's session: 401, logged, and that session untouched", async () => {
    const mallory = await loggedIn();
    const victim = await loggedIn();
    const { token: forged } = await deps.tokens.create({
      username: mallory.user.username,
      role: mallory.user.role,
      sessionId: victim.sessionId,
      tokenType: "refresh",
      durationMs: HOUR,
    });

    const { logger, lines } = captureLogs();
    expect(await errorCode(renewAccessToken({ ...deps, logger }, { refreshToken: forged }))).toBe(
      "unauthenticated",
    );
    expect(lines.find((line) => line.msg === "refresh token refused")).toMatchObject({
      reason: "incorrect session user",
      sessionId: victim.sessionId,
    });

    // Not a reuse of the victim's token: the victim's session is not blocked, and renews.
    const [row] = await deps.db
      .select({ isBlocked: sessions.isBlocked, username: sessions.username })
      .from(sessions)
      .where(eq(sessions.id, victim.sessionId));
    expect(row).toEqual({ isBlocked: false, username: victim.user.username });
    const renewed = await renewAccessToken(deps, { refreshToken: victim.refreshToken });
    expect(renewed.refreshToken).not.toBe(victim.refreshToken);
  });
});
