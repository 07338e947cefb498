import { beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import { generateKeys, sign } from "paseto-ts/v4";
import { keyBytes, toWireClaims } from "../../src/core/auth/token-claims.ts";
import { createTokenMaker, type TokenPayload } from "../../src/core/auth/tokens.ts";
import { systemClock } from "../../src/core/domain/clock.ts";
import { expectProblem } from "../support/app.ts";
import { type Bank, type BankUser, bankApp } from "./support.ts";

/**
 * OWASP API2:2023 Broken Authentication. For each token format the server can be configured
 * with (PASETO v4.local, JWT HS256), every forged, confused, expired or revoked credential is
 * 401 and reaches no handler; refresh tokens rotate; brute-force login limits hold whatever the
 * client claims in X-Forwarded-For unless TRUST_PROXY says a proxy writes it.
 */

const b64url = (bytes: Uint8Array | string) =>
  Buffer.from(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes).toString(
    "base64url",
  );
const fromB64url = (text: string) => Buffer.from(text, "base64url").toString("utf8");

/** Replaces the character at `i` with another of the base64url alphabet. */
function flipAt(token: string, i: number): string {
  const replacement = token[i] === "A" ? "B" : "A";
  return token.slice(0, i) + replacement + token.slice(i + 1);
}

for (const kind of ["paseto", "jwt"] as const) {
  describe(`API2 with TOKEN_TYPE=${kind}`, () => {
    let bank: Bank;
    let user: BankUser;
    let payload: TokenPayload;

    /** GET /users/me with `token`: 401 (`code`), or the status it got. */
    const me = (token: string) => bank.request("GET", "/users/me", { token });
    const rejected = async (token: string, code = "unauthenticated") =>
      expectProblem(await me(token), 401, code);

    beforeAll(async () => {
      bank = await bankApp({ TOKEN_TYPE: kind });
      user = await bank.signUp();
      payload = await bank.services.tokens.verify(user.accessToken);
    });

    test("the genuine token works (control)", async () => {
      expect((await me(user.accessToken)).status).toBe(200);
    });

    test("a tampered signature or authentication tag: 401", async () => {
      await rejected(flipAt(user.accessToken, user.accessToken.length - 6));
    });

    test("a tampered payload: 401", async () => {
      if (kind === "jwt") {
        // Re-encode the claims with role banker and another username, keep the signature.
        const [header, body, signature] = user.accessToken.split(".");
        const claims = JSON.parse(fromB64url(body ?? "")) as Record<string, unknown>;
        for (const change of [{ role: "banker" }, { username: "bank" }, { exp: 4102444800 }]) {
          await rejected(
            `${header}.${b64url(JSON.stringify({ ...claims, ...change }))}.${signature}`,
          );
        }
      } else {
        // v4.local is encrypted and authenticated: any changed ciphertext byte.
        const prefix = "v4.local.".length;
        await rejected(flipAt(user.accessToken, prefix + 40));
      }
    });

    test("a token made with another key: 401", async () => {
      const other = createTokenMaker({ kind, symmetricKey: "k".repeat(32), clock: systemClock });
      const { token } = await other.create({
        username: user.username,
        role: "banker",
        sessionId: user.sessionId,
        tokenType: "access",
        durationMs: 60_000,
      });
      await rejected(token);
    });

    test("the other token format with the same key (PASETO when JWT is configured and vice versa): 401", async () => {
      const other = createTokenMaker({
        kind: kind === "paseto" ? "jwt" : "paseto",
        symmetricKey: bank.config.tokenSymmetricKey,
        clock: systemClock,
      });
      const { token } = await other.create({
        username: user.username,
        role: "depositor",
        sessionId: user.sessionId,
        tokenType: "access",
        durationMs: 60_000,
      });
      await rejected(token);
    });

    test("algorithm confusion: alg none, HS512 / RS256 / EdDSA headers, PASETO v4.public: 401", async () => {
      const claims = toWireClaims(payload);
      const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
      const jwtClaims = {
        ...claims,
        iat: seconds(payload.issuedAt),
        nbf: seconds(payload.issuedAt),
        exp: seconds(payload.expiredAt),
      };
      const body = b64url(JSON.stringify(jwtClaims));
      const genuineSignature = kind === "jwt" ? user.accessToken.split(".")[2] : "c2ln";
      for (const header of [
        { alg: "none", typ: "JWT" },
        { alg: "None", typ: "JWT" },
        { alg: "RS256", typ: "JWT" },
        { alg: "EdDSA", typ: "JWT" },
      ]) {
        const h = b64url(JSON.stringify(header));
        await rejected(`${h}.${body}.`);
        await rejected(`${h}.${body}.${genuineSignature}`);
      }
      // A correct MAC made with the configured key, but not the one algorithm accepted.
      const hs512 = await new SignJWT(jwtClaims)
        .setProtectedHeader({ alg: "HS512", typ: "JWT" })
        .sign(keyBytes(bank.config.tokenSymmetricKey));
      await rejected(hs512);
      // PASETO v4.public, signed by a key pair the attacker made (there is no public key to
      // confuse with: both formats are symmetric here).
      const { secretKey } = generateKeys("public");
      const pasetoClaims = {
        ...claims,
        iat: claims.issued_at,
        nbf: claims.issued_at,
        exp: claims.expired_at,
      };
      await rejected(sign(secretKey, pasetoClaims, { addIat: false, addExp: false }));
      // Older PASETO versions' headers over a v4.local body.
      if (kind === "paseto") {
        for (const version of ["v1.local.", "v2.local.", "v3.local.", "v4.public."]) {
          await rejected(version + user.accessToken.slice("v4.local.".length));
        }
      }
    });

    test("expired: 401 token_expired; a refresh token is no access token and vice versa: 401", async () => {
      const { token } = await bank.services.tokens.create({
        username: user.username,
        role: "depositor",
        sessionId: user.sessionId,
        tokenType: "access",
        durationMs: -60_000,
      });
      await rejected(token, "token_expired");
      await rejected(user.refreshToken);
      expectProblem(
        await bank.request("POST", "/tokens/renew_access", {
          body: { refresh_token: user.accessToken },
        }),
        401,
        "unauthenticated",
      );
    });

    test("revoked by logout: the session's access and refresh tokens are 401", async () => {
      const victim = await bank.signUp();
      expect(
        (await bank.request("POST", "/users/logout", { token: victim.accessToken })).status,
      ).toBe(204);
      await rejected(victim.accessToken);
      expect(
        (
          await bank.request("POST", "/tokens/renew_access", {
            body: { refresh_token: victim.refreshToken },
          })
        ).status,
      ).toBe(401);
    });

    test("revoked by a password change: the user's other sessions are 401", async () => {
      const victim = await bank.signUp();
      const second = await bank.request<{ access_token: string; refresh_token: string }>(
        "POST",
        "/users/login",
        { body: { username: victim.username, password: victim.password } },
      );
      const changed = await bank.request("PATCH", `/users/${victim.username}`, {
        token: second.body.access_token,
        body: { password: `${victim.password}-new` },
      });
      expect(changed.status).toBe(200);
      await rejected(victim.accessToken);
      expect(
        (
          await bank.request("POST", "/tokens/renew_access", {
            body: { refresh_token: victim.refreshToken },
          })
        ).status,
      ).toBe(401);
      // The old password no longer logs in.
      expectProblem(
        await bank.request("POST", "/users/login", {
          body: { username: victim.username, password: victim.password },
        }),
        401,
        "invalid_credentials",
      );
    });

    test("rotated: a refresh token two rotations old is 401 and blocks the whole session", async () => {
      const victim = await bank.signUp();
      const renew = (refreshToken: string) =>
        bank.request<{ access_token: string; refresh_token: string }>(
          "POST",
          "/tokens/renew_access",
          { body: { refresh_token: refreshToken } },
        );
      const first = await renew(victim.refreshToken);
      expect(first.status).toBe(200);
      const second = await renew(first.body.refresh_token);
      expect(second.status).toBe(200);
      // Outside any reuse interval: not the immediately previous token.
      expect((await renew(victim.refreshToken)).status).toBe(401);
      // Theft detected: the newest refresh token and the session's access tokens die too.
      expect((await renew(second.body.refresh_token)).status).toBe(401);
      await rejected(second.body.access_token);
    });
  });
}

describe("API2: the refresh-token reuse interval does not reopen theft", () => {
  test("the previous refresh token presented after the interval: 401, and the session is blocked", async () => {
    // A one-second interval (REFRESH_TOKEN_REUSE_INTERVAL; a server without the setting
    // rotates strictly, which must give the same answers).
    const bank = await bankApp({ REFRESH_TOKEN_REUSE_INTERVAL: "1s" });
    const user = await bank.signUp();
    const renew = (refreshToken: string) =>
      bank.request<{ access_token: string; refresh_token: string }>(
        "POST",
        "/tokens/renew_access",
        { body: { refresh_token: refreshToken } },
      );
    const rotated = await renew(user.refreshToken);
    expect(rotated.status).toBe(200);
    await Bun.sleep(1_500);
    expectProblem(await renew(user.refreshToken), 401, "unauthenticated");
    expect((await renew(rotated.body.refresh_token)).status).toBe(401);
    expectProblem(
      await bank.request("GET", "/users/me", { token: rotated.body.access_token }),
      401,
      "unauthenticated",
    );
  });
});

// ---- brute force ---------------------------------------------------------------------------

const LIMITS = {
  RATE_LIMIT_ENABLED: "true",
  RATE_LIMIT_LOGIN_USERNAME: "3/1h",
  RATE_LIMIT_LOGIN_IP: "5/1h",
};

const SPOOF_HEADERS = ["X-Forwarded-For", "X-Real-IP", "CF-Connecting-IP", "Forwarded"];

describe("API2: brute-force login limits", () => {
  test("without TRUST_PROXY, X-Forwarded-For (or X-Real-IP, CF-Connecting-IP, Forwarded) cannot dodge the per-IP limit", async () => {
    const bank = await bankApp(LIMITS, { trustProxyHops: 0, connectionIp: () => "192.0.2.10" });
    const user = await bank.signUp();
    for (let i = 0; i < 5; i++) {
      const header = SPOOF_HEADERS[i % SPOOF_HEADERS.length] ?? "X-Forwarded-For";
      const reply = await bank.request("POST", "/users/login", {
        body: {
          username: `nobody_${i}_${crypto.randomUUID().slice(0, 8)}`,
          password: "wrong-pass",
        },
        headers: { [header]: header === "Forwarded" ? `for=198.51.100.${i}` : `198.51.100.${i}` },
      });
      expectProblem(reply, 401, "invalid_credentials");
    }
    const spoofed = await bank.request("POST", "/users/login", {
      body: { username: user.username, password: user.password },
      headers: { "X-Forwarded-For": "203.0.113.77", "X-Real-IP": "203.0.113.78" },
    });
    expectProblem(spoofed, 429, "rate_limited");
    expect(spoofed.headers.get("Retry-After")).toMatch(/^[1-9][0-9]*$/);
  });

  test("with TRUST_PROXY=1, the limit is per forwarded client IP, and a forged left-hand entry changes nothing", async () => {
    const bank = await bankApp(LIMITS, { trustProxyHops: 1, connectionIp: () => "192.0.2.20" });
    const user = await bank.signUp();
    const attempt = (forwarded: string, password = "wrong-pass", username = user.username) =>
      bank.request("POST", "/users/login", {
        body: { username, password },
        headers: { "X-Forwarded-For": forwarded },
      });
    for (let i = 0; i < 5; i++) {
      // Each a different username, the forged first entry varying: the proxy's entry counts.
      expectProblem(
        await attempt(
          `10.9.9.${i}, 203.0.113.5`,
          "wrong-pass",
          `nobody_${crypto.randomUUID().slice(0, 8)}`,
        ),
        401,
        "invalid_credentials",
      );
    }
    expectProblem(await attempt("10.1.1.1, 203.0.113.5", user.password), 429, "rate_limited");
    expectProblem(await attempt("203.0.113.5", user.password), 429, "rate_limited");
    // Another client behind the same proxy is not affected.
    expect((await attempt("203.0.113.6", user.password)).status).toBe(200);
  });

  test("rotating IPs does not dodge the per-username limit", async () => {
    const bank = await bankApp(LIMITS, { trustProxyHops: 1, connectionIp: () => "192.0.2.30" });
    const user = await bank.signUp();
    for (let i = 0; i < 3; i++) {
      const reply = await bank.request("POST", "/users/login", {
        body: { username: user.username, password: "wrong-pass" },
        headers: { "X-Forwarded-For": `198.18.0.${i}` },
      });
      expectProblem(reply, 401, "invalid_credentials");
    }
    const reply = await bank.request("POST", "/users/login", {
      body: { username: user.username, password: user.password },
      headers: { "X-Forwarded-For": "198.18.1.1" },
    });
    expectProblem(reply, 429, "rate_limited");
  });
});
