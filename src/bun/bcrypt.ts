import type { Bcrypt } from "../core/auth/password.ts";

/** bcrypt by Bun.password: native and off the main thread. The Bun entries inject it. */
export const bunBcrypt: Bcrypt = {
  name: "Bun.password",
  hash: (password, cost) => Bun.password.hash(password, { algorithm: "bcrypt", cost }),
  compare: (password, hash) => Bun.password.verify(password, hash, "bcrypt"),
};
