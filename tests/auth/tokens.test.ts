import { describe, expect, test } from "bun:test";
import { decodeJwt, generateKeyPair, SignJWT } from "jose";
import { decrypt, encrypt, generateKeys, sign } from "paseto-ts/v4";
import { base64UrlEncode } from "../../src/core/auth/base64url.ts";
import {
  CLOCK_SKEW_MS,
  createJwtMaker,
  createPasetoMaker,
  createTokenMaker,
  MAX_TOKEN_LENGTH,
  TokenError,
  type TokenMaker,
  type TokenPayload,
  type TokenRequest,
} from "../../src/core/auth/tokens.ts";
import { rememberVerifiedTokens } from "../../src/core/auth/verified-tokens.ts";
import type { Clock } from "../../src/core/domain/clock.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Like the original's util.RandomString: lower-case letters. */
function randomString(length: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => letters[b % letters.length]).join("");
}

const KEY = randomString(32);
const OTHER_KEY = randomString(32);

/** A clock that tests move by hand. */
function manualClock(start = new Date("2030-01-02T03:04:05.678Z")): Clock & {
  set(date: Date): void;
  advance(ms: number): void;
} {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    set: (date) => {
      current = date.getTime();
    },
    advance: (ms) => {
      current += ms;
    },
  };
}

const realClock: Clock = { now: () => new Date() };

function request(overrides: Partial<TokenRequest> = {}): TokenRequest {
  return {
    username: randomString(8),
    role: "depositor",
    sessionId: crypto.randomUUID(),
    tokenType: "access",
    durationMs: MINUTE,
    ...overrides,
  };
}

/** The TokenError `promise` rejects with (fails on success or on any other error). */
async function rejection(promise: Promise<unknown>): Promise<TokenError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenError) return error;
    throw error;
  }
  throw new Error("expected the token to be rejected");
}

async function expectInvalid(promise: Promise<unknown>): Promise<void> {
  const error = await rejection(promise);
  expect(error.reason).toBe("invalid");
  expect(error.message).toBe("token is invalid");
}

const encodeJson = (value: unknown) =>
  base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));
const pasetoKey = (key: string) => `k4.local.${base64UrlEncode(new TextEncoder().encode(key))}`;

/** A base64url character other than `c`. */
const other = (c: string | undefined) => (c === "A" ? "B" : "A");

/** `token` with the character at `index` (moved past any '.') replaced. */
function flipAt(token: string, index: number): string {
  let i = index;
  while (token[i] === ".") i++;
  return `${token.slice(0, i)}${other(token[i])}${token.slice(i + 1)}`;
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Number of unused low bits in the last character of an unpadded base64url segment. */
const unusedBits = (segment: string) => [0, 0, 4, 2][segment.length % 4] ?? 0;

/** The last character changed ONLY in its unused bits: same bytes, different string. */
function flipUnusedBits(token: string): string {
  const last = token.at(-1) ?? "";
  const changed = BASE64URL[BASE64URL.indexOf(last) ^ 1] ?? "";
  return `${token.slice(0, -1)}${changed}`;
}

/** Everything the shared suite needs to know about one token format. */
interface Format {
  kind: "paseto" | "jwt";
  make(key: string, clock: Clock): TokenMaker;
  /** Signs/encrypts arbitrary claims with `key`, bypassing the maker (an insider forgery). */
  forge(claims: Record<string, unknown>, key: string): Promise<string>;
  /** The registered time claims this format adds for a payload. */
  timeClaims(payload: TokenPayload): Record<string, unknown>;
  /** Decodes a token's claims with `key`, bypassing the maker. */
  readClaims(token: string, key: string): Record<string, unknown>;
  /** The segment whose last character ends the token. */
  lastSegment(token: string): string;
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

const PASETO: Format = {
  kind: "paseto",
  make: (key, clock) => createPasetoMaker({ symmetricKey: key, clock }),
  forge: async (claims, key) =>
    encrypt(pasetoKey(key), claims, { addIat: false, addExp: false, validatePayload: false }),
  timeClaims: (p) => ({
    iat: p.issuedAt.toISOString(),
    nbf: p.issuedAt.toISOString(),
    exp: p.expiredAt.toISOString(),
  }),
  readClaims: (token, key) =>
    decrypt(pasetoKey(key), token, { validatePayload: false }).payload as Record<string, unknown>,
  lastSegment: (token) => token.slice("v4.local.".length),
};

const JWT: Format = {
  kind: "jwt",
  make: (key, clock) => createJwtMaker({ symmetricKey: key, clock }),
  forge: (claims, key) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(new TextEncoder().encode(key)),
  timeClaims: (p) => ({
    iat: seconds(p.issuedAt),
    nbf: seconds(p.issuedAt),
    exp: seconds(p.expiredAt),
  }),
  readClaims: (token) => decodeJwt(token) as Record<string, unknown>,
  lastSegment: (token) => token.split(".")[2] ?? "",
};

/** The claims a maker would write for `payload` (custom + this format's time claims). */
function claimsOf(format: Format, payload: TokenPayload): Record<string, unknown> {
  return {
    id: payload.id,
    sid: payload.sessionId,
    username: payload.username,
    role: payload.role,
    token_type: payload.tokenType,
    issued_at: payload.issuedAt.toISOString(),
    expired_at: payload.expiredAt.toISOString(),
    ...format.timeClaims(payload),
  };
}

/** An `alg: none` JWT carrying otherwise valid-looking claims. */
function algNoneJwt(claims: Record<string, unknown>, signature = ""): string {
  return `${encodeJson({ alg: "none", typ: "JWT" })}.${encodeJson(claims)}.${signature}`;
}

/** `exp` moved one hour later, in each format's representation. */
const PLUS_ONE_HOUR: Record<
  "paseto" | "jwt",
  (c: Record<string, unknown>) => Record<string, unknown>
> = {
  paseto: (c) => ({ exp: new Date(Date.parse(String(c.exp)) + HOUR).toISOString() }),
  jwt: (c) => ({ exp: Number(c.exp) + 3600 }),
};

describe.each([PASETO, JWT])("$kind maker", (format) => {
  const otherFormat = format === PASETO ? JWT : PASETO;

  test("TestPasetoMaker / TestJWTMaker: create then verify gives the same payload", async () => {
    const maker = format.make(KEY, realClock);
    expect(maker.kind).toBe(format.kind);
    const req = request();
    const issuedAt = Date.now();
    const { token, payload } = await maker.create(req);
    expect(token.length).toBeGreaterThan(0);

    const verified = await maker.verify(token);
    expect(verified).toEqual(payload);
    expect(verified.id).toMatch(UUID);
    expect(verified.sessionId).toBe(req.sessionId);
    expect(verified.username).toBe(req.username);
    expect(verified.role).toBe("depositor");
    expect(verified.tokenType).toBe("access");
    expect(Math.abs(verified.issuedAt.getTime() - issuedAt)).toBeLessThanOrEqual(1000);
    expect(Math.abs(verified.expiredAt.getTime() - (issuedAt + MINUTE))).toBeLessThanOrEqual(1000);
  });

  test("times come from the injected clock, to the millisecond", async () => {
    const clock = manualClock();
    const maker = format.make(KEY, clock);
    const { token, payload } = await maker.create(request({ durationMs: 15 * MINUTE }));
    expect(payload.issuedAt).toEqual(clock.now());
    expect(payload.expiredAt.getTime()).toBe(clock.now().getTime() + 15 * MINUTE);
    clock.advance(10 * MINUTE);
    expect(await maker.verify(token)).toEqual(payload);
  });

  test("the token's claims are exactly the contract's, with consistent time claims", async () => {
    const clock = manualClock();
    const { token, payload } = await format.make(KEY, clock).create(request());
    const claims = format.readClaims(token, KEY);
    expect(claims).toEqual(claimsOf(format, payload));
    expect(claims.issued_at).toBe("2030-01-02T03:04:05.678Z");
    expect(claims.expired_at).toBe("2030-01-02T03:05:05.678Z");
  });

  test("a banker's refresh token keeps its role and token type", async () => {
    const maker = format.make(KEY, realClock);
    for (const tokenType of ["access", "refresh"] as const) {
      const { token } = await maker.create(request({ role: "banker", tokenType }));
      const payload = await maker.verify(token);
      expect(payload.tokenType).toBe(tokenType);
      expect(payload.role).toBe("banker");
    }
  });

  test("every token gets its own id", async () => {
    const maker = format.make(KEY, realClock);
    const req = request();
    const a = await maker.create(req);
    const b = await maker.create(req);
    expect(a.payload.id).not.toBe(b.payload.id);
    expect(a.token).not.toBe(b.token);
  });

  test("TestExpired*: a token created with duration -1 min → 'token has expired'", async () => {
    const maker = format.make(KEY, realClock);
    const { token } = await maker.create(request({ durationMs: -MINUTE }));
    const error = await rejection(maker.verify(token));
    expect(error.reason).toBe("expired");
    expect(error.message).toBe("token has expired");
    expect(error.name).toBe("TokenError");
  });

  test("expiry is exact: valid at expired_at, expired 1 ms later", async () => {
    const clock = manualClock();
    const maker = format.make(KEY, clock);
    const { token, payload } = await maker.create(request());
    clock.set(payload.expiredAt);
    expect(await maker.verify(token)).toEqual(payload);
    clock.advance(1);
    expect((await rejection(maker.verify(token))).reason).toBe("expired");
    clock.advance(HOUR);
    expect((await rejection(maker.verify(token))).reason).toBe("expired");
  });

  test("an expired token under the wrong key is 'invalid', not 'expired'", async () => {
    const { token } = await format.make(KEY, realClock).create(request({ durationMs: -HOUR }));
    await expectInvalid(format.make(OTHER_KEY, realClock).verify(token));
  });

  test("not yet valid: issued 1 h in the future → invalid", async () => {
    const clock = manualClock();
    const maker = format.make(KEY, clock);
    const { token } = await maker.create(request({ durationMs: 2 * HOUR }));
    clock.advance(-HOUR);
    await expectInvalid(maker.verify(token));
  });

  test(`clock skew: issued up to ${CLOCK_SKEW_MS / 1000} s in the future is accepted`, async () => {
    const clock = manualClock();
    const maker = format.make(KEY, clock);
    const { token, payload } = await maker.create(request());
    clock.advance(-10_000);
    expect(await maker.verify(token)).toEqual(payload);
    clock.set(new Date(payload.issuedAt.getTime() - CLOCK_SKEW_MS));
    expect(await maker.verify(token)).toEqual(payload);
    clock.advance(-1000);
    await expectInvalid(maker.verify(token));
  });

  test("tampered: a character in the middle, or the last one, changed → invalid", async () => {
    const maker = format.make(KEY, realClock);
    const { token } = await maker.create(request());
    await expectInvalid(maker.verify(flipAt(token, Math.floor(token.length / 2))));
    await expectInvalid(maker.verify(flipAt(token, token.length - 1)));
    await expectInvalid(maker.verify(token.slice(0, -1)));
    await expectInvalid(maker.verify(`${token}A`));
    await expectInvalid(maker.verify(` ${token}`));
    await expectInvalid(maker.verify(`${token}\n`));
  });

  test("tampered in the last character's unused bits only (same bytes) → invalid", async () => {
    const maker = format.make(KEY, realClock);
    // Usernames of three consecutive lengths: at least one gives a segment with spare bits.
    let token = "";
    for (const username of ["user_a", "user_ab", "user_abc"]) {
      token = (await maker.create(request({ username }))).token;
      if (unusedBits(format.lastSegment(token)) > 0) break;
    }
    expect(unusedBits(format.lastSegment(token))).toBeGreaterThan(0);
    const tampered = flipUnusedBits(token);
    expect(tampered).not.toBe(token);
    await expectInvalid(maker.verify(tampered));
  });

  test("standard base64 characters ('+', '/') in place of '-', '_' → invalid", async () => {
    const maker = format.make(KEY, realClock);
    for (let attempt = 0; attempt < 10; attempt++) {
      const { token } = await maker.create(request());
      const index = token.search(/[-_]/);
      if (index < 0) continue;
      const swapped = `${token.slice(0, index)}${token[index] === "-" ? "+" : "/"}${token.slice(index + 1)}`;
      await expectInvalid(maker.verify(swapped));
      return;
    }
    throw new Error("no token with '-' or '_' in 10 attempts");
  });

  test("wrong key → invalid", async () => {
    const { token } = await format.make(KEY, realClock).create(request());
    await expectInvalid(format.make(OTHER_KEY, realClock).verify(token));
  });

  test(`a ${otherFormat.kind} token with the same key → invalid`, async () => {
    const { token } = await otherFormat.make(KEY, realClock).create(request());
    await expectInvalid(format.make(KEY, realClock).verify(token));
  });

  test("alg: none JWT (empty or junk signature) → invalid", async () => {
    const clock = manualClock();
    const maker = format.make(KEY, clock);
    const { payload } = await maker.create(request());
    const claims = claimsOf(JWT, payload);
    await expectInvalid(maker.verify(algNoneJwt(claims)));
    await expectInvalid(maker.verify(algNoneJwt(claims, "c2lnbmF0dXJl")));
  });

  test("JWTs signed with HS512 (same key) or RS256 → invalid", async () => {
    const clock = manualClock();
    const maker = format.make(KEY, clock);
    const { payload } = await maker.create(request());
    const claims = claimsOf(JWT, payload);
    const hs512 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS512", typ: "JWT" })
      .sign(new TextEncoder().encode(KEY));
    await expectInvalid(maker.verify(hs512));
    const { privateKey } = await generateKeyPair("RS256");
    const rs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ: "JWT" })
      .sign(privateKey);
    await expectInvalid(maker.verify(rs256));
  });

  test("PASETO v4.public and v2.local tokens → invalid", async () => {
    const clock = manualClock();
    const maker = format.make(KEY, clock);
    const { payload } = await maker.create(request());
    const { secretKey } = generateKeys("public");
    const v4public = sign(secretKey, claimsOf(PASETO, payload), {
      addIat: false,
      addExp: false,
      validatePayload: false,
    });
    expect(v4public.startsWith("v4.public.")).toBe(true);
    await expectInvalid(maker.verify(v4public));
    // paseto-ts writes only v4; a well-formed-looking v2.local token is enough here.
    const v2local = `v2.local.${base64UrlEncode(crypto.getRandomValues(new Uint8Array(120)))}`;
    await expectInvalid(maker.verify(v2local));
  });

  test("garbage, the empty string and huge strings → invalid", async () => {
    const maker = format.make(KEY, realClock);
    const garbage = [
      "",
      "garbage",
      "Bearer x",
      "v4.local.",
      "v4.local",
      "a.b.c",
      "...",
      "eyJhbGciOiJIUzI1NiJ9..",
      "v4.local.A",
      "v4.local.🔑",
      "\u0000",
      "x".repeat(100_000),
      `v4.local.${"A".repeat(100_000)}`,
      `${"A".repeat(50_000)}.${"A".repeat(50_000)}.AAAA`,
      "A".repeat(MAX_TOKEN_LENGTH + 1),
    ];
    for (const token of garbage) await expectInvalid(maker.verify(token));
    for (const value of [undefined, null, 42, {}]) {
      await expectInvalid(maker.verify(value as unknown as string));
    }
  });

  describe("claims crafted with the right key", () => {
    async function forged(edit: (claims: Record<string, unknown>) => void): Promise<{
      maker: TokenMaker;
      token: string;
    }> {
      const clock = manualClock();
      const maker = format.make(KEY, clock);
      const { payload } = await maker.create(request());
      const claims = claimsOf(format, payload);
      edit(claims);
      return { maker, token: await format.forge(claims, KEY) };
    }

    test("unchanged claims verify (the forging itself is sound)", async () => {
      const { maker, token } = await forged(() => {});
      expect((await maker.verify(token)).username.length).toBeGreaterThan(0);
    });

    const bad: [string, (claims: Record<string, unknown>) => void][] = [
      ["role 'admin'", (c) => Object.assign(c, { role: "admin" })],
      ["role missing", (c) => delete c.role],
      ["sid missing", (c) => delete c.sid],
      ["sid not a uuid", (c) => Object.assign(c, { sid: "session-1" })],
      ["id not a uuid", (c) => Object.assign(c, { id: 42 })],
      ["token_type 'id'", (c) => Object.assign(c, { token_type: "id" })],
      ["token_type missing", (c) => delete c.token_type],
      ["username empty", (c) => Object.assign(c, { username: "" })],
      ["username a number", (c) => Object.assign(c, { username: 7 })],
      ["issued_at not a timestamp", (c) => Object.assign(c, { issued_at: "yesterday" })],
      ["expired_at missing", (c) => delete c.expired_at],
      [
        "expired_at with an offset",
        (c) => Object.assign(c, { expired_at: "2030-01-02T04:05:05+01:00" }),
      ],
      ["exp missing", (c) => delete c.exp],
      ["iat missing", (c) => delete c.iat],
      ["nbf missing", (c) => delete c.nbf],
      ["exp later than expired_at", (c) => Object.assign(c, { ...PLUS_ONE_HOUR[format.kind](c) })],
    ];

    test.each(bad)("%s → invalid", async (_name, edit) => {
      const { maker, token } = await forged(edit);
      await expectInvalid(maker.verify(token));
    });
  });
});

describe("JWT specifics", () => {
  test("a depositor's JWT re-labelled 'banker' (payload edited, signature kept) → invalid", async () => {
    const maker = JWT.make(KEY, realClock);
    const { token } = await maker.create(request());
    const [header, , signature] = token.split(".");
    const claims = decodeJwt(token);
    const edited = `${header}.${encodeJson({ ...claims, role: "banker" })}.${signature}`;
    await expectInvalid(maker.verify(edited));
  });

  test("the header is HS256 / JWT and the time claims are whole seconds", async () => {
    const clock = manualClock();
    const { token, payload } = await JWT.make(KEY, clock).create(request());
    const header = JSON.parse(
      atob((token.split(".")[0] ?? "").replaceAll("-", "+").replaceAll("_", "/")),
    );
    expect(header).toEqual({ alg: "HS256", typ: "JWT" });
    const claims = decodeJwt(token);
    expect(claims.iat).toBe(seconds(payload.issuedAt));
    expect(claims.nbf).toBe(seconds(payload.issuedAt));
    expect(claims.exp).toBe(seconds(payload.expiredAt));
  });

  test("a JWT without typ → invalid", async () => {
    const clock = manualClock();
    const maker = JWT.make(KEY, clock);
    const { payload } = await maker.create(request());
    const token = await new SignJWT(claimsOf(JWT, payload))
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(KEY));
    await expectInvalid(maker.verify(token));
  });
});

describe("keys", () => {
  const clock = realClock;
  test("PASETO needs exactly 32 bytes", () => {
    expect(() => createPasetoMaker({ symmetricKey: randomString(31), clock })).toThrow(
      "invalid key size: must be exactly 32 bytes (got 31)",
    );
    expect(() => createPasetoMaker({ symmetricKey: randomString(33), clock })).toThrow(
      "invalid key size: must be exactly 32 bytes (got 33)",
    );
    expect(() => createPasetoMaker({ symmetricKey: "", clock })).toThrow("invalid key size");
    expect(createPasetoMaker({ symmetricKey: randomString(32), clock }).kind).toBe("paseto");
  });

  test("the key length is counted in UTF-8 bytes, not characters", async () => {
    // 16 × "é" = 32 bytes in 16 characters; 32 × "é" = 64 bytes in 32 characters.
    const maker = createPasetoMaker({ symmetricKey: "é".repeat(16), clock });
    const { token } = await maker.create(request());
    expect((await maker.verify(token)).role).toBe("depositor");
    expect(() => createPasetoMaker({ symmetricKey: "é".repeat(32), clock })).toThrow(
      "invalid key size",
    );
    expect(() => createJwtMaker({ symmetricKey: "é".repeat(15), clock })).toThrow(
      "invalid key size",
    );
  });

  test("JWT needs at least 32 bytes", async () => {
    expect(() => createJwtMaker({ symmetricKey: randomString(31), clock })).toThrow(
      "invalid key size: must be at least 32 bytes (got 31)",
    );
    expect(createJwtMaker({ symmetricKey: randomString(32), clock }).kind).toBe("jwt");
    const long = createJwtMaker({ symmetricKey: randomString(64), clock });
    const { token } = await long.create(request());
    expect((await long.verify(token)).tokenType).toBe("access");
  });

  test("createTokenMaker picks the implementation", async () => {
    for (const kind of ["paseto", "jwt"] as const) {
      const maker = createTokenMaker({ kind, symmetricKey: KEY, clock });
      expect(maker.kind).toBe(kind);
      const { token, payload } = await maker.create(request());
      expect(await maker.verify(token)).toEqual(payload);
    }
    const longKey = randomString(40);
    expect(() => createTokenMaker({ kind: "paseto", symmetricKey: longKey, clock })).toThrow(
      "invalid key size",
    );
    expect(createTokenMaker({ kind: "jwt", symmetricKey: longKey, clock }).kind).toBe("jwt");
  });

  test("create refuses a request that could never verify", async () => {
    for (const maker of [PASETO.make(KEY, clock), JWT.make(KEY, clock)]) {
      await expect(maker.create(request({ sessionId: "not-a-uuid" }))).rejects.toThrow(
        "cannot create a token",
      );
      await expect(maker.create(request({ username: "" }))).rejects.toThrow(
        "cannot create a token",
      );
      await expect(maker.create(request({ durationMs: Number.NaN }))).rejects.toThrow(
        "finite number",
      );
    }
  });
});

describe("TokenError", () => {
  test("messages are the original's", () => {
    expect(new TokenError("expired").message).toBe("token has expired");
    expect(new TokenError("invalid").message).toBe("token is invalid");
    expect(new TokenError("invalid")).toBeInstanceOf(Error);
  });
});

describe("remembered verifications (verified-tokens.ts)", () => {
  /** A maker whose verifications are counted, remembered up to `capacity`. */
  function counted(clock: Clock, capacity?: number) {
    const inner = createPasetoMaker({ symmetricKey: KEY, clock });
    const calls = { verify: 0 };
    const counting: TokenMaker = {
      kind: inner.kind,
      create: (r) => inner.create(r),
      verify: (token) => {
        calls.verify += 1;
        return inner.verify(token);
      },
    };
    return { maker: rememberVerifiedTokens(counting, clock, capacity), calls };
  }

  test("a token verified once is not decrypted again; the payload is the same", async () => {
    const { maker, calls } = counted(manualClock());
    const { token, payload } = await maker.create(request());
    expect(await maker.verify(token)).toEqual(payload);
    expect(await maker.verify(token)).toEqual(payload);
    expect(calls.verify).toBe(1);
  });

  test("a remembered token expires exactly when it would have, and is forgotten", async () => {
    const clock = manualClock();
    const { maker, calls } = counted(clock);
    const { token, payload } = await maker.create(request({ durationMs: MINUTE }));
    await maker.verify(token);
    clock.set(payload.expiredAt);
    expect(await maker.verify(token)).toEqual(payload);
    clock.advance(1);
    expect((await rejection(maker.verify(token))).reason).toBe("expired");
    expect((await rejection(maker.verify(token))).reason).toBe("expired");
    expect(calls.verify).toBe(2);
  });

  test("a remembered token is invalid again if the clock goes back beyond the skew", async () => {
    const clock = manualClock();
    const { maker } = counted(clock);
    const { token } = await maker.create(request());
    await maker.verify(token);
    clock.advance(-(CLOCK_SKEW_MS + 1));
    await expectInvalid(maker.verify(token));
  });

  test("rejected tokens are never remembered", async () => {
    const { maker, calls } = counted(manualClock());
    const { token } = await maker.create(request());
    const tampered = flipAt(token, token.length - 10);
    await expectInvalid(maker.verify(tampered));
    await expectInvalid(maker.verify(tampered));
    expect(calls.verify).toBe(2);
  });

  test("past its capacity the oldest token is forgotten first", async () => {
    const { maker, calls } = counted(manualClock(), 2);
    const tokens = await Promise.all(
      [1, 2, 3].map(async () => (await maker.create(request())).token),
    );
    for (const token of tokens) await maker.verify(token);
    expect(calls.verify).toBe(3);
    await maker.verify(tokens[2] as string);
    await maker.verify(tokens[1] as string);
    expect(calls.verify).toBe(3);
    await maker.verify(tokens[0] as string);
    expect(calls.verify).toBe(4);
  });

  test("createTokenMaker's makers remember (both kinds)", async () => {
    for (const kind of ["paseto", "jwt"] as const) {
      const maker = createTokenMaker({ kind, symmetricKey: KEY, clock: manualClock() });
      const { token, payload } = await maker.create(request());
      expect(await maker.verify(token)).toEqual(payload);
      expect(await maker.verify(token)).toBe(await maker.verify(token));
    }
  });
});
