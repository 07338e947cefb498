import { describe, expect, test } from "bun:test";
import { bunBcrypt } from "../../src/bun/bcrypt.ts";
import {
  bcryptJs,
  createPasswordHasher,
  MAX_PASSWORD_BYTES,
  passwordByteLength,
} from "../../src/core/auth/password.ts";

/** Cost 4, bcrypt's minimum: fast tests. */
const COST = 4;
const IMPLEMENTATIONS = ["bun", "js"] as const;

/** Like the original's util.RandomString: lower-case letters. */
function randomString(length: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => letters[b % letters.length]).join("");
}

const BCRYPTS = { bun: bunBcrypt, js: bcryptJs };
const hasher = (implementation: "bun" | "js", cost = COST) =>
  createPasswordHasher({ cost, bcrypt: BCRYPTS[implementation] });

/** 18 four-byte emoji: exactly 72 bytes in 36 UTF-16 code units. */
const UNICODE_72 = "🔐".repeat(18);

describe.each(IMPLEMENTATIONS)("%s hasher", (implementation) => {
  const passwords = hasher(implementation);

  test("TestPassword: hash, verify, wrong password, salted", async () => {
    const password = randomString(6);
    const hash1 = await passwords.hash(password);
    expect(hash1.length).toBeGreaterThan(0);
    expect(await passwords.verify(password, hash1)).toBe(true);

    const wrong = randomString(6);
    expect(await passwords.verify(wrong === password ? `${wrong}x` : wrong, hash1)).toBe(false);

    const hash2 = await passwords.hash(password);
    expect(hash2.length).toBeGreaterThan(0);
    expect(hash2).not.toBe(hash1);
    expect(await passwords.verify(password, hash2)).toBe(true);
  });

  test("the hash is bcrypt with the configured cost", async () => {
    const hash = await passwords.hash("correct horse");
    expect(hash).toStartWith("$2b$04$");
    expect(hash).toHaveLength(60);
    expect(await hasher(implementation, 5).hash("correct horse")).toStartWith("$2b$05$");
  });

  test("a stored value that is not a bcrypt hash → false, never a throw", async () => {
    const argon2 = await Bun.password.hash("x");
    const bcrypt = await passwords.hash("x");
    for (const stored of ["!", "", "$2b$04$short", argon2, bcrypt.slice(0, -1), `${bcrypt}x`]) {
      expect(await passwords.verify("x", stored)).toBe(false);
    }
    expect(await passwords.verify("x", undefined as unknown as string)).toBe(false);
  });

  test("bcrypt-shaped but undecodable (Bun.password throws InvalidEncoding) → false, never a throw", async () => {
    // Every character is in bcrypt's alphabet, so the shape check passes; the salt's last
    // character carries bits a real salt never has.
    for (const stored of [`$2b$04$${"z".repeat(53)}`, `$2y$04$${"9".repeat(53)}`]) {
      expect(await passwords.verify("x", stored)).toBe(false);
    }
  });

  test("a 72-byte multi-byte password round-trips, and its 72nd byte counts", async () => {
    expect(passwordByteLength(UNICODE_72)).toBe(MAX_PASSWORD_BYTES);
    const hash = await passwords.hash(UNICODE_72);
    expect(await passwords.verify(UNICODE_72, hash)).toBe(true);

    const lastByteA = `${"🔐".repeat(17)}abca`;
    const lastByteB = `${"🔐".repeat(17)}abcb`;
    expect(passwordByteLength(lastByteA)).toBe(72);
    expect(await passwords.verify(lastByteB, await passwords.hash(lastByteA))).toBe(false);
  });

  test("over 72 bytes or empty: hash throws, verify is false", async () => {
    const long = `${UNICODE_72}a`;
    expect(passwordByteLength(long)).toBe(73);
    await expect(passwords.hash(long)).rejects.toThrow(RangeError);
    await expect(passwords.hash("")).rejects.toThrow(RangeError);
    const hash = await passwords.hash(UNICODE_72);
    // bcryptjs alone would say true here (it ignores the bytes past 72).
    expect(await passwords.verify(long, hash)).toBe(false);
    expect(await passwords.verify("", hash)).toBe(false);
  });
});

describe("cross-implementation", () => {
  const bun = hasher("bun");
  const js = hasher("js");

  test.each([
    ["bun → js", bun, js],
    ["js → bun", js, bun],
  ] as const)("%s", async (_name, from, to) => {
    for (const password of [randomString(8), UNICODE_72, "pässwörd ñ 密码"]) {
      const hash = await from.hash(password);
      expect(await to.verify(password, hash)).toBe(true);
      expect(await to.verify(`${password}!`, hash)).toBe(false);
    }
  });

  test("$2a$ and $2b$ hashes verify with both", async () => {
    const b = await bun.hash("password1");
    const a = b.replace(/^\$2b\$/, "$2a$");
    for (const passwords of [bun, js]) {
      expect(await passwords.verify("password1", b)).toBe(true);
      expect(await passwords.verify("password1", a)).toBe(true);
      expect(await passwords.verify("password2", a)).toBe(false);
    }
  });
});

describe("createPasswordHasher", () => {
  test("defaults to the pure-JS bcrypt, which runs on every runtime", async () => {
    const hash = await createPasswordHasher({ cost: COST }).hash("correct horse");
    expect(await bcryptJs.compare("correct horse", hash)).toBe(true);
  });

  test("rejects a cost outside 4..31", () => {
    for (const cost of [3, 32, 4.5, Number.NaN]) {
      expect(() => createPasswordHasher({ cost })).toThrow("invalid bcrypt cost");
    }
  });

  test("passwordByteLength counts UTF-8 bytes", () => {
    expect(passwordByteLength("")).toBe(0);
    expect(passwordByteLength("abc")).toBe(3);
    expect(passwordByteLength("é")).toBe(2);
    expect(passwordByteLength("密")).toBe(3);
    expect(passwordByteLength("🔐")).toBe(4);
  });
});
