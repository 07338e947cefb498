import type { SessionRevocations } from "../domain/revocations.ts";

/**
 * Without Redis: the database is the only store. Writes have nothing to do (the rows that
 * revoke are written by the services themselves) and every check asks the database.
 */
export const databaseRevocations: SessionRevocations = {
  kind: "database",
  async check() {
    return "unknown";
  },
  async revokeSessions() {},
  async markUserChanged() {},
};
