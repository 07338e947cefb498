import bcrypt from "bcryptjs";
import { MAX_PASSWORD_BYTES, passwordByteLength } from "../domain/users.ts";
import type { PasswordHasher } from "./password-hasher.ts";

// bcrypt uses at most 72 bytes of a password; the domain rule (the contract) is the one source.
export { MAX_PASSWORD_BYTES, passwordByteLength } from "../domain/users.ts";
export type { PasswordHasher } from "./password-hasher.ts";

/** bcrypt's cost range (log2 of the rounds). */
export const MIN_BCRYPT_COST = 4;
export const MAX_BCRYPT_COST = 31;

/** `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

export interface PasswordHasherOptions {
  /** bcrypt cost, 4..31 (the original used 10; tests use 4). */
  cost: number;
  /** Defaults to "bun" where `Bun.password` exists, else "js" (bcryptjs, e.g. on the edge). */
  implementation?: "bun" | "js";
}

/**
 * bcrypt password hashing, by Bun.password (native, off the main thread) or bcryptjs (pure
 * JS). Both write `$2b$<cost>$…` and verify each other's hashes (`$2a$`/`$2b$`/`$2y$`).
 *
 * They differ on passwords over 72 bytes: bcryptjs ignores the bytes past 72, Bun.password
 * pre-hashes the whole password with SHA-512, so such hashes would not interoperate (and
 * bcryptjs would accept any password sharing the first 72 bytes). The API rejects those
 * passwords before they get here; as a second line, `hash` throws a RangeError for them (and
 * for the empty password, which Bun.password refuses) and `verify` answers false.
 */
export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  const { cost } = options;
  if (!Number.isInteger(cost) || cost < MIN_BCRYPT_COST || cost > MAX_BCRYPT_COST) {
    throw new Error(`invalid bcrypt cost ${cost}: must be an integer in 4..31`);
  }
  const implementation = options.implementation ?? defaultPasswordImplementation();
  const bun = implementation === "bun" ? bunPassword() : undefined;
  if (implementation === "bun" && bun === undefined) {
    throw new Error("Bun.password is not available in this runtime; use implementation: 'js'");
  }

  return {
    async hash(password) {
      if (!isHashablePassword(password)) {
        throw new RangeError(`password must be 1..${MAX_PASSWORD_BYTES} bytes`);
      }
      return bun
        ? await bun.hash(password, { algorithm: "bcrypt", cost })
        : await bcrypt.hash(password, cost);
    },

    async verify(password, hash) {
      if (!isHashablePassword(password) || typeof hash !== "string" || !BCRYPT_HASH.test(hash)) {
        return false;
      }
      try {
        return bun
          ? await bun.verify(password, hash, "bcrypt")
          : await bcrypt.compare(password, hash);
      } catch {
        // Bun.password throws for a malformed hash ("InvalidEncoding").
        return false;
      }
    },
  };
}

function isHashablePassword(password: unknown): password is string {
  if (typeof password !== "string" || password.length === 0) return false;
  return passwordByteLength(password) <= MAX_PASSWORD_BYTES;
}

function bunPassword(): typeof Bun.password | undefined {
  return typeof Bun === "undefined" ? undefined : Bun.password;
}

/** "bun" where `Bun.password` exists, else "js". */
export function defaultPasswordImplementation(): "bun" | "js" {
  return bunPassword() ? "bun" : "js";
}
