import type { Role } from "../../../src/core/domain/types.ts";
import {
  type AccountJson,
  depositTo,
  logIn,
  openAccountFor,
  signUp,
  type TestUser,
} from "../app.ts";
import { sql, treasuryIds, UNKNOWN_ID } from "../ledger-http.ts";

/** An id no row has. */
export const UNKNOWN = UNKNOWN_ID;

/**
 * The people the fuzzer acts as, and what each owns: two depositors with funded accounts, a
 * depositor with none, and a banker (made one through the service the CLI calls). Generators
 * pick ids and names from the pools here (by position, so a seed replays the same roles); the
 * checks ask whose an account is. Tokens die when a request logs out, changes a password or
 * reuses a rotated refresh token: `tokenOf` logs in again after a 401.
 */

export const ACTOR_NAMES = ["alice", "bob", "carol", "banker"] as const;
export type ActorName = (typeof ACTOR_NAMES)[number];

export interface FuzzActor {
  name: ActorName;
  user: TestUser;
  role: Role;
  /** Ids of the accounts this actor owns (grows when the fuzzer opens one for it). */
  accounts: Set<number>;
  /** The access token went bad (a 401): log in before the next request. */
  stale: boolean;
  /**
   * Every password a request set for this user, newest last: concurrent changes finish in an
   * order the fuzzer does not see, so a new login tries them all.
   */
  passwords: string[];
}

export interface Pools {
  /** Every account of the world (the actors' and the treasuries), with its currency. */
  accounts: { id: number; currency: string }[];
  /** Each actor's accounts as the world began. */
  own: Record<ActorName, number[]>;
  transferIds: number[];
  usernames: string[];
  emails: string[];
  refreshTokens: string[];
  /** The actors' usernames and passwords as the world began. */
  credentials: { username: string; password: string }[];
}

export interface World {
  actors: Record<ActorName, FuzzActor>;
  pools: Pools;
  treasuries: Set<number>;
  /** The actor owning this username, if it is one of ours. */
  byUsername(username: string): FuzzActor | undefined;
  tokenOf(name: ActorName): Promise<string>;
  /** Reads the actors' emails back from the database (after a batch that changed users). */
  refreshEmails(): Promise<void>;
}

async function actor(name: ActorName, role: Role, funding: [string, number][]): Promise<FuzzActor> {
  const user = await signUp({ role });
  const accounts = new Set<number>();
  for (const [currency, amount] of funding) {
    const account: AccountJson = await openAccountFor(user, currency);
    if (amount > 0) await depositTo(account, amount);
    accounts.add(account.id);
  }
  return { name, user, role, accounts, stale: false, passwords: [user.password] };
}

let shared: Promise<World> | undefined;

/** One world per run: every fuzz file acts as the same people. */
export function fuzzWorld(): Promise<World> {
  shared ??= build();
  return shared;
}

async function build(): Promise<World> {
  const actors: Record<ActorName, FuzzActor> = {
    alice: await actor("alice", "depositor", [
      ["USD", 100_000],
      ["EUR", 50_000],
    ]),
    bob: await actor("bob", "depositor", [
      ["USD", 100_000],
      ["CAD", 20_000],
    ]),
    carol: await actor("carol", "depositor", []),
    banker: await actor("banker", "banker", [["USD", 0]]),
  };
  const treasury = await treasuryIds();
  const owned = Object.values(actors).flatMap((a) => [...a.accounts]);
  const db = await sql();
  const accounts = await db<{ id: string; currency: string }[]>`
    select id::text, currency from accounts
    where id in ${db([...owned, ...Object.values(treasury)])} order by id`;
  const transfers = await db<{ id: string }[]>`
    select id::text from transfers
    where to_account_id in ${db(owned)} or from_account_id in ${db(owned)} order by id`;
  // A session of its own for the refresh-token pool: renewing it never kills an actor's token.
  const spare = await logIn(actors.alice.user.username, actors.alice.user.password);
  const pools: Pools = {
    accounts: accounts.map((a) => ({ id: Number(a.id), currency: a.currency })),
    own: Object.fromEntries(Object.values(actors).map((a) => [a.name, [...a.accounts]])) as Record<
      ActorName,
      number[]
    >,
    transferIds: [...transfers.map((t) => Number(t.id)), UNKNOWN_ID],
    usernames: [...Object.values(actors).map((a) => a.user.username), "bank", "nobody_here"],
    emails: Object.values(actors).map((a) => a.user.email),
    refreshTokens: [spare.refreshToken],
    credentials: Object.values(actors).map((a) => ({
      username: a.user.username,
      password: a.user.password,
    })),
  };
  const byUsername = (username: string) =>
    Object.values(actors).find((a) => a.user.username === username);
  return {
    actors,
    pools,
    treasuries: new Set(Object.values(treasury)),
    byUsername,
    async refreshEmails() {
      const rows = await db<{ username: string; email: string }[]>`
        select username, email from users
        where username in ${db(Object.values(actors).map((a) => a.user.username))}`;
      for (const row of rows) {
        const a = byUsername(row.username);
        if (a) a.user.email = row.email;
      }
    },
    async tokenOf(name) {
      const a = actors[name];
      if (a.stale) {
        const tried: string[] = [];
        for (const password of [...a.passwords].reverse()) {
          const session = await logIn(a.user.username, password).catch(() => undefined);
          if (!session) {
            tried.push(password);
            continue;
          }
          Object.assign(a.user, session, { password });
          a.stale = false;
          break;
        }
        if (a.stale) throw new Error(`${name}: no known password logs in (${tried.length} tried)`);
      }
      return a.user.accessToken;
    },
  };
}
