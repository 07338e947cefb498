import { PgTransaction } from "drizzle-orm/pg-core";
import type { Database, Transaction } from "./client.ts";

/**
 * A query drizzle builds once per database handle instead of on every call: `build` returns
 * the query prepared (`.prepare(name)`, its values as `sql.placeholder`s), and the returned
 * function gives the one built for `db`. Building the SQL text was ~40 µs of a request's CPU per
 * query (bench/NOTES.md). A transaction is a handle of its own: there the query is built each
 * time, on `tx`, so it never runs outside the caller's transaction.
 */
export function preparedQuery<Q>(build: (db: Database | Transaction) => Q) {
  const built = new WeakMap<Database, Q>();
  return (db: Database | Transaction): Q => {
    if (db instanceof PgTransaction) return build(db);
    let query = built.get(db);
    if (query === undefined) {
      query = build(db);
      built.set(db, query);
    }
    return query;
  };
}
