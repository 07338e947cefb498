/**
 * Start-up's first contact with PostgreSQL (server, worker, CLI and the compiled binary, all
 * through connectDatabase): a bounded retry while the server cannot be reached, then ONE clear
 * line saying where it looked and what to do, instead of a driver stack.
 */
import type { DatabaseHandle } from "../core/db/client.ts";
import { isUnavailableError, postgresError } from "../core/db/errors.ts";
import type { Logger } from "../core/lib/logger.ts";
import { sleep } from "../core/lib/sleep.ts";

/**
 * Attempts while PostgreSQL is unreachable, and the pause before each retry (doubling): 5
 * attempts over about 7.5 s plus each attempt's own connect timeout (5 s at most), so a
 * database started alongside (compose, a pod's sidecar) has time to come up.
 */
const START_ATTEMPTS = 5;
const FIRST_RETRY_DELAY_MS = 500;

/** A database problem at start-up that the operator fixes: its message says how. */
export class DatabaseStartError extends Error {
  override name = "DatabaseStartError";
}

/** `host:port` and the database of a postgres:// URL (nothing secret). */
function target(url: string): { address: string; database: string; user: string } {
  try {
    const parsed = new URL(url);
    return {
      address: `${parsed.hostname || "localhost"}:${parsed.port || "5432"}`,
      database: decodeURIComponent(parsed.pathname.slice(1)) || decodeURIComponent(parsed.username),
      user: decodeURIComponent(parsed.username) || "(default)",
    };
  } catch {
    return { address: "(unparsable DATABASE_URL)", database: "", user: "" };
  }
}

function reasonOf(error: unknown): string {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    e = e.cause;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Waits until the database answers `select 1`, retrying START_ATTEMPTS times with backoff while
 * it is unreachable; a database that does not exist or a refused login fails at once. Throws a
 * DatabaseStartError whose message is the one line to print.
 */
export async function awaitDatabase(
  handle: DatabaseHandle,
  url: string,
  logger: Logger,
): Promise<void> {
  const attempts = START_ATTEMPTS;
  const { address, database, user } = target(url);
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await handle.sql`select 1`;
      return;
    } catch (error) {
      const code = postgresError(error)?.code;
      if (code === "3D000") {
        throw new DatabaseStartError(
          `database "${database}" does not exist on the PostgreSQL at ${address}: create it (createdb -h ${address.replace(/:(\d+)$/, " -p $1")} ${database}) or set DATABASE_URL to an existing database`,
        );
      }
      if (code === "28P01" || code === "28000") {
        throw new DatabaseStartError(
          `the PostgreSQL at ${address} refused the login of user "${user}" (${code === "28P01" ? "wrong password" : "not allowed"}): fix the user or password in DATABASE_URL`,
        );
      }
      if (!isUnavailableError(error)) throw error;
      const reason = reasonOf(error);
      if (attempt >= attempts) {
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        throw new DatabaseStartError(
          `PostgreSQL is not reachable at ${address} (${reason}; ${attempts} attempts in ${seconds} s): start PostgreSQL there, or set DATABASE_URL to a server that is running`,
        );
      }
      const delay = FIRST_RETRY_DELAY_MS * 2 ** (attempt - 1);
      logger.warn(
        `PostgreSQL is not reachable at ${address} (${reason}): attempt ${attempt} of ${attempts}, retrying in ${delay / 1000} s`,
      );
      await sleep(delay);
    }
  }
}
