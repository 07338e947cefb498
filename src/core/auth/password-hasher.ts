/**
 * Password hashing with bcrypt (contract: passwords are 8..72 bytes, bcrypt's limit). The
 * interface is what the services use; `createPasswordHasher` (password.ts) builds it over the
 * pure-JS bcryptjs (the edge) or a native bcrypt the runtime injects. Hashes are interchangeable.
 */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** False for a wrong password AND for a stored value that is not a bcrypt hash (e.g. "!"). */
  verify(password: string, hash: string): Promise<boolean>;
}
