import bcryptjs from "bcryptjs";
import { MAX_PASSWORD_BYTES, passwordByteLength } from "../domain/users.ts";
import type { PasswordHasher } from "./password-hasher.ts";

// bcrypt uses at most 72 bytes of a password; the domain rule (the contract) is the one source.
export { MAX_PASSWORD_BYTES, passwordByteLength } from "../domain/users.ts";
export type { PasswordHasher } from "./password-hasher.ts";

/** bcrypt's cost range (log2 of the rounds). */
const MIN_BCRYPT_COST = 4;
const MAX_BCRYPT_COST = 31;

/** `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 22 characters of salt and 31 of hash. */
const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/**
 * A bcrypt implementation: the pure-JS `bcryptJs` here (every runtime, the edge included), or a
 * native one the runtime's entry injects (Bun.password, in src/bun/bcrypt.ts). Both write
 * `$2b$<cost>$…` and verify each other's hashes (`$2a$`/`$2b$`/`$2y$`).
 */
export interface Bcrypt {
  readonly name: string;
  hash(password: string, cost: number): Promise<string>;
  /** May throw for a malformed hash. */
  compare(password: string, hash: string): Promise<boolean>;
}

export const bcryptJs: Bcrypt = {
  name: "bcryptjs",
  hash: (password, cost) => bcryptjs.hash(password, cost),
  compare: (password, hash) => bcryptjs.compare(password, hash),
};

export interface PasswordHasherOptions {
  /** bcrypt cost, 4..31 (the original used 10; tests use 4). */
  cost: number;
  /** Default: bcryptjs (pure JS). */
  bcrypt?: Bcrypt;
}

/**
 * bcrypt password hashing.
 *
 * Implementations differ on passwords over 72 bytes: bcryptjs ignores the bytes past 72,
 * Bun.password pre-hashes the whole password with SHA-512, so such hashes would not interoperate
 * (and bcryptjs would accept any password sharing the first 72 bytes). The API rejects those
 * passwords before they get here; as a second line, `hash` throws a RangeError for them (and
 * for the empty password, which Bun.password refuses) and `verify` answers false.
 */
export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  const { cost, bcrypt = bcryptJs } = options;
  if (!Number.isInteger(cost) || cost < MIN_BCRYPT_COST || cost > MAX_BCRYPT_COST) {
    throw new Error(`invalid bcrypt cost ${cost}: must be an integer in 4..31`);
  }

  return {
    async hash(password) {
      if (!isHashablePassword(password)) {
        throw new RangeError(`password must be 1..${MAX_PASSWORD_BYTES} bytes`);
      }
      return bcrypt.hash(password, cost);
    },

    async verify(password, hash) {
      if (!isHashablePassword(password) || typeof hash !== "string" || !BCRYPT_HASH.test(hash)) {
        return false;
      }
      try {
        return await bcrypt.compare(password, hash);
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
