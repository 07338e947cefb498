import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.ts";

export type Database = PostgresJsDatabase<typeof schema>;
/** The handle given to code running inside `db.transaction(...)`: use only this there. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];

export interface DatabaseHandle {
  db: Database;
  /** The underlying postgres.js client (migrations, advisory locks, shutdown). */
  sql: postgres.Sql;
  /** Waits up to `timeoutSeconds` (default 5) for running queries, then ends them. */
  close(options?: { timeoutSeconds?: number }): Promise<void>;
}

export interface OpenDatabaseOptions {
  url: string;
  poolMax: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /**
   * Whether each new connection first asks the server for its array types (postgres.js's
   * `fetch_types`, default on). A Worker's connections live for one request: off there.
   */
  fetchTypes?: boolean;
}

export function openDatabase(options: OpenDatabaseOptions): DatabaseHandle {
  const sql = postgres(options.url, {
    max: options.poolMax,
    fetch_types: options.fetchTypes ?? true,
    onnotice: () => {},
    // While the database is unreachable, fail fast (503) and retry connecting often, so the
    // service is back within seconds of the database (postgres.js waits up to 20 s by default).
    connect_timeout: 5,
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 2),
    // UTC keeps Postgres' timestamp text free of local offsets (see db/timestamp.ts).
    connection: { application_name: options.applicationName ?? "simplebank", TimeZone: "UTC" },
  });
  const db = drizzle(preparingStatements(sql), { schema });
  return {
    db,
    sql,
    close: ({ timeoutSeconds = 5 } = {}) => sql.end({ timeout: timeoutSeconds }),
  };
}

type Client = postgres.Sql | postgres.TransactionSql;

/**
 * postgres.js runs a query with parameters in ONE round trip only when it is a prepared
 * statement its connection already knows; any other is described first (Parse/Describe, wait,
 * then Bind/Execute: two round trips and a fresh plan). Drizzle asks for that on every query it
 * builds (it prepares only queries given a name with `.prepare(name)`), which doubled the round
 * trips of every request. This view of the client prepares every statement, once per connection
 * (postgres.js keys them by text and parameter types), in the pool and in transactions and
 * savepoints alike; drizzle is given it, nothing else changes.
 */
function preparingStatements<T extends Client>(client: T): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === "unsafe") {
        return (query: string, parameters?: unknown[], options?: object) =>
          (target.unsafe as (q: string, p?: unknown[], o?: object) => unknown)(query, parameters, {
            ...options,
            prepare: true,
          });
      }
      if (property === "begin" || property === "savepoint") {
        return (...args: unknown[]) => {
          const body = args.at(-1) as (tx: postgres.TransactionSql) => unknown;
          return (value as (...a: unknown[]) => unknown).apply(target, [
            ...args.slice(0, -1),
            (tx: postgres.TransactionSql) => body(preparingStatements(tx)),
          ]);
        };
      }
      return value;
    },
  });
}
