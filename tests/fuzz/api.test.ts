import { beforeAll, describe, expect, test } from "bun:test";
import { type Api, loadApi } from "../support/fuzz/openapi.ts";
import {
  type FuzzResult,
  fuzzOperation,
  fuzzOptions,
  fuzzWeight,
  wrongMethods,
} from "../support/fuzz/run.ts";
import { fuzzWorld, type World } from "../support/fuzz/world.ts";
import { accountAsSeenBy, balanceInDb, sql } from "../support/ledger-http.ts";
import { balanceAfterViolations } from "../support/resilience.ts";

/**
 * Property-based fuzzing of every operation in the app's own /openapi.json (fast-check): valid
 * and mutated requests as nobody, two depositors, one without accounts, and a banker. Every
 * response: no 5xx, documented status, media type and schema, problem+json errors with a
 * served code, nothing without a valid token on a protected route, no other customer's data;
 * afterwards the books balance. `bun test` runs a short fixed-seed pass; `bun run fuzz` a
 * longer one (tests/fuzz/README.md).
 */

const options = fuzzOptions(process.env);
// The operations come from the document, which is read only once the app is up: the list of
// tests is fixed here from the paths the document has had so far, and each one checks that
// its operation exists, so a new operation fails the "every operation is fuzzed" test.
let api: Api;
let world: World;
const results = new Map<string, FuzzResult>();

beforeAll(async () => {
  api = await loadApi();
  world = await fuzzWorld();
}, 60_000);

// The time box (or the runs, at a generous 100 ms a request) plus shrinking and set-up.
const timeout = (options.timeMs ?? options.runs * 30 * 100) + 120_000;

describe("fuzz: every operation of /openapi.json", () => {
  test(
    "operations",
    async () => {
      const operations = api.operations.filter((o) => !options.only || o.label === options.only);
      expect(operations.length).toBeGreaterThan(0);
      const weights = operations.reduce((sum, o) => sum + fuzzWeight(o), 0);
      const failures: string[] = [];
      for (const operation of operations) {
        try {
          const share = options.timeMs
            ? Math.floor((options.timeMs * fuzzWeight(operation)) / weights)
            : undefined;
          const result = await fuzzOperation(api, world, operation, options, share);
          results.set(operation.label, result);
          if (options.verbose) {
            const seen = Object.entries(result.statuses).map(([s, n]) => `${s}×${n}`);
            process.stderr.write(
              `[fuzz] ${operation.label}: ${result.runs} runs, ${seen.join(" ")}\n`,
            );
          }
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
      const runs = [...results.values()].reduce((n, r) => n + r.runs, 0);
      const requests = [...results.values()]
        .flatMap((r) => Object.values(r.statuses))
        .reduce((n, count) => n + count, 0);
      process.stderr.write(
        `[fuzz] seed ${options.seed}: ${runs} runs (${requests} requests) over ` +
          `${operations.length} operations, ${failures.length} failing\n`,
      );
      if (failures.length > 0) throw new Error(`\n${failures.join("\n\n")}`);
    },
    timeout,
  );
});

describe("fuzz: every documented path with a method it does not serve", () => {
  test("405 problem+json method_not_allowed, with an Allow naming the documented methods", async () => {
    const paths = new Map<string, Set<string>>();
    for (const o of api.operations) {
      paths.set(o.path, (paths.get(o.path) ?? new Set()).add(o.method));
    }
    // `/users/me` is also `/users/{username}`: PATCH there is that operation's, not a 405.
    const template = (path: string) => new RegExp(`^${path.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    const servedElsewhere = (path: string, method: string) =>
      api.operations.some((o) => o.method === method && template(o.path).test(path));
    const cases = [...paths].flatMap(([path, methods]) =>
      ["GET", "POST", "PUT", "PATCH", "DELETE"]
        .filter((m) => !methods.has(m) && !servedElsewhere(path, m))
        .map((method) => ({ path, method, methods })),
    );
    expect(cases.length).toBeGreaterThan(40);
    const failures = await wrongMethods(cases, world);
    expect(failures).toEqual([]);
  });
});

describe("fuzz: afterwards", () => {
  test("the books balance: every currency sums to 0, every balance is the sum of its entries, every transfer is two entries summing to 0, no customer below 0, each owner sees the ledger's balance", async () => {
    const db = await sql();
    const unbalanced = await db<{ currency: string; total: string }[]>`
      select currency, sum(balance)::text as total from accounts
      group by currency having sum(balance) <> 0`;
    const drifted = await db<{ id: string }[]>`
      select a.id::text from accounts a left join entries e on e.account_id = a.id
      group by a.id having a.balance <> coalesce(sum(e.amount), 0)`;
    const halves = await db<{ id: string }[]>`
      select t.id::text from transfers t left join entries e on e.transfer_id = t.id
      group by t.id having count(e.id) <> 2 or coalesce(sum(e.amount), 0) <> 0`;
    const overdrawn = await db<{ id: string }[]>`
      select id::text from accounts where kind = 'customer' and balance < 0`;
    expect({
      unbalanced: [...unbalanced],
      drifted: [...drifted],
      halves: [...halves],
      overdrawn: [...overdrawn],
    }).toEqual({
      unbalanced: [],
      drifted: [],
      halves: [],
      overdrawn: [],
    });
    // What the API shows each owner is what the ledger holds.
    for (const actor of Object.values(world.actors)) {
      const token = await world.tokenOf(actor.name);
      for (const id of actor.accounts) {
        expect((await accountAsSeenBy(token, id)).balance).toBe(await balanceInDb(id));
      }
    }
    // Every account's latest balance_after equals its balance (the statements' running sum).
    expect(await balanceAfterViolations(db)).toEqual([]);
    // Never an idle ledger: the world's own deposits are in it, and whatever the pass moved
    // (how much depends on the seed and the time; a long pass prints it).
    const [moved] = await db<{ n: number }[]>`select count(*)::int as n from transfers`;
    expect(moved?.n ?? 0).toBeGreaterThanOrEqual(4);
    if (options.verbose) process.stderr.write(`[fuzz] the ledger: ${moved?.n} transfers\n`);
  });
});
