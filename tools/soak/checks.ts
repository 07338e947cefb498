/**
 * What the soak checks once the load and the faults are over, against the database itself:
 * - every transfer answered 201 exists exactly once, with the amount and accounts the client
 *   sent, every 201 of one key (first answer and replays) names the same transfer, and a key
 *   resent by the client paid once;
 * - nothing refused left a trace: no transfer in the database without a key some client saw
 *   paid, no key stored for a refused one, and every deposit in the database is one a banker
 *   was answered 201 for, or one whose answer was lost (never one answered 503);
 * - the books balance (every transfer with its two entries, balances = the sum of their
 *   entries, each currency's balances sum to 0, no customer below 0);
 * - every user got exactly one verification link, and it works;
 * - the RSS of each long-lived process stayed flat.
 */
import type postgres from "postgres";
import type { EmailCapture } from "../../tests/support/email-capture.ts";
import { ledgerViolations } from "../../tests/support/resilience.ts";
import type { Recorder, Target } from "./http.ts";
import type { DepositRecord, SignupRecord, TransferRecord } from "./load.ts";

export interface LedgerFigures {
  transfers: number;
  deposits: number;
  depositedCents: number;
}

export async function checkLedger(
  sql: postgres.Sql,
  recorder: Recorder,
  transfers: TransferRecord[],
  deposits: DepositRecord[],
): Promise<LedgerFigures> {
  for (const problem of await ledgerViolations(sql)) recorder.violation("books", problem);

  const rows = await sql<
    {
      id: number;
      from_account_id: number;
      to_account_id: number;
      amount: number;
      from_kind: string;
    }[]
  >`
    select t.id::int, t.from_account_id::int, t.to_account_id::int, t.amount::int, a.kind as from_kind
    from transfers t join accounts a on a.id = t.from_account_id`;
  const keys = await sql<{ owner: string; key: string; transfer_id: number | null }[]>`
    select owner, key, (response->'transfer'->>'id')::int as transfer_id from idempotency_keys`;
  const byId = new Map(rows.map((row) => [row.id, row]));
  const keyOf = new Map(keys.map((k) => [`${k.owner} ${k.key}`, k]));
  const keyedIds = new Map<number, number>();
  for (const k of keys) {
    if (k.transfer_id !== null) keyedIds.set(k.transfer_id, (keyedIds.get(k.transfer_id) ?? 0) + 1);
  }

  const paidIds = new Set<number>();
  for (const record of transfers) {
    const stored = keyOf.get(`${record.owner} ${record.key}`);
    if (record.final === "paid") {
      const ids = new Set(record.ids);
      if (ids.size !== 1) {
        recorder.violation("one key, several transfers", `${record.key}: ${[...ids].join(", ")}`);
      }
      for (const id of ids) {
        paidIds.add(id);
        const row = byId.get(id);
        if (!row) {
          recorder.violation("a 201 transfer is missing", `transfer ${id} (key ${record.key})`);
        } else if (
          row.from_account_id !== record.from ||
          row.to_account_id !== record.to ||
          row.amount !== record.amount
        ) {
          recorder.violation(
            "a 201 transfer differs",
            `${id}: ${JSON.stringify(row)} vs ${JSON.stringify(record)}`,
          );
        }
        if (stored?.transfer_id !== id) {
          recorder.violation("a paid key is not stored", `${record.key} → ${stored?.transfer_id}`);
        }
      }
    } else if (record.final === "refused") {
      if (stored) {
        recorder.violation(
          "a refused transfer left a key",
          `${record.key} → ${stored.transfer_id}`,
        );
      }
    } else {
      recorder.violation(
        "a transfer's outcome never became known",
        `${record.key}: answers ${record.answers.join(",")}`,
      );
    }
  }
  const customerTransfers = rows.filter((row) => row.from_kind === "customer");
  for (const row of customerTransfers) {
    if (!paidIds.has(row.id)) {
      recorder.violation(
        "a transfer no client was paid for",
        `transfer ${row.id}: ${JSON.stringify(row)}`,
      );
    }
    if ((keyedIds.get(row.id) ?? 0) !== 1) {
      recorder.violation("a transfer without exactly one key", `transfer ${row.id}`);
    }
  }

  // Deposits (transfers out of a treasury): matched by their unique amounts.
  const attempts = new Map(deposits.map((d) => [`${d.accountId} ${d.amount}`, d]));
  const depositRows = rows.filter((row) => row.from_kind === "treasury");
  const seen = new Set<string>();
  for (const row of depositRows) {
    const match = `${row.to_account_id} ${row.amount}`;
    const attempt = attempts.get(match);
    if (seen.has(match)) {
      recorder.violation(
        "a deposit paid twice",
        `${match}: transfer ${row.id} (answers ${attempt?.answers.join(",")})`,
      );
    }
    seen.add(match);
    if (!attempt) {
      recorder.violation("a deposit no banker made", `transfer ${row.id}: ${JSON.stringify(row)}`);
    } else if (attempt.transferId !== undefined) {
      if (attempt.transferId !== row.id) {
        recorder.violation(
          "a deposit under another id",
          `${match}: ${row.id} vs ${attempt.transferId}`,
        );
      }
    } else if (!attempt.answers.some((a) => a === "network" || a === "timeout")) {
      recorder.violation(
        "a refused deposit left a trace",
        `${match}: answers ${attempt.answers.join(",")}`,
      );
    }
  }
  for (const attempt of deposits) {
    if (attempt.transferId !== undefined && !byId.has(attempt.transferId)) {
      recorder.violation("a 201 deposit is missing", `transfer ${attempt.transferId}`);
    }
  }
  return {
    transfers: customerTransfers.length,
    deposits: depositRows.length,
    depositedCents: depositRows.reduce((sum, row) => sum + row.amount, 0),
  };
}

/**
 * Every user answered 201 exists; every user in the database (the system user aside) is one a
 * client was answered 201 for, or one whose answer was lost (never one only ever answered 503).
 */
export async function checkSignups(
  sql: postgres.Sql,
  recorder: Recorder,
  signups: Map<string, SignupRecord>,
): Promise<void> {
  const rows = await sql<
    { username: string }[]
  >`select username from users where username <> 'bank'`;
  const stored = new Set(rows.map((row) => row.username));
  for (const username of stored) {
    const record = signups.get(username);
    if (!record) recorder.violation("a user no client signed up", username);
    else if (!record.created && !record.inDoubt) {
      recorder.violation("a refused signup left a user", username);
    }
  }
  for (const record of signups.values()) {
    if (record.created && !stored.has(record.username)) {
      recorder.violation("a 201 user is missing", record.username);
    }
  }
}

const LINK = /https?:\/\/[^\s"<>]+\/verify_email\?[^\s"<>]+/;

/**
 * Opens each verification link as soon as its email is delivered (links live 15 minutes, a
 * long run far longer), like a user would: retried after a 503 or a lost answer, on either
 * instance. `sweep()` handles what arrived since the last call.
 */
export class Verifier {
  /** Address → "verified", or what went wrong. */
  readonly outcomes = new Map<string, string>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly mail: EmailCapture,
    private readonly recorder: Recorder,
    private readonly targets: Target[],
  ) {}

  sweep(): Promise<void> {
    this.running ??= this.open().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async open(): Promise<void> {
    for (const email of this.mail.delivered()) {
      const address = email.body.to?.[0];
      if (!address || this.outcomes.has(address)) continue;
      const found = LINK.exec(email.body.text ?? "")?.[0];
      if (!found) {
        this.outcomes.set(address, "no link in the email");
        continue;
      }
      const link = new URL(found);
      let outcome: Awaited<ReturnType<Recorder["call"]>> | undefined;
      let inDoubt = false;
      for (let attempt = 0; attempt < 20; attempt++) {
        const target = this.targets[attempt % this.targets.length] as Target;
        const path = `${link.pathname}${link.search}`;
        // After a lost answer or a 503 the link may already be used: 422, and the database
        // tells (checkVerificationEmails).
        outcome = await this.recorder.call("verify", target, "GET", path, {
          expect: inDoubt ? [200, 422] : [200],
        });
        if (outcome.kind === "reply" && outcome.status !== 503) break;
        inDoubt = true;
        await Bun.sleep(250);
      }
      const verified = outcome?.kind === "reply" && outcome.body.is_verified === true;
      const used = inDoubt && outcome?.kind === "reply" && outcome.status === 422;
      const failure = `${link}: ${JSON.stringify(outcome).slice(0, 300)}`;
      this.outcomes.set(address, verified ? "verified" : used ? "in doubt" : failure);
    }
  }
}

/**
 * Waits until every user in the database (the system user aside) got its email and the
 * verifier opened it; then checks one delivered email and one link per user, that the link
 * verified, and that the database says so. Returns how long it waited.
 */
export async function checkVerificationEmails(
  sql: postgres.Sql,
  mail: EmailCapture,
  recorder: Recorder,
  verifier: Verifier,
  timeoutMs: number,
): Promise<{ users: number; waitedMs: number; attempts: number }> {
  const users = await sql<{ username: string; email: string }[]>`
    select username, email from users where username <> 'bank' order by username`;
  const started = Date.now();
  let missing: { username: string; email: string }[] = [...users];
  while (Date.now() - started < timeoutMs) {
    await verifier.sweep();
    missing = users.filter((u) => !verifier.outcomes.has(u.email));
    if (missing.length === 0) break;
    await Bun.sleep(500);
  }
  const waitedMs = Date.now() - started;
  for (const user of missing) {
    const jobs = await sql<{ state: string; retry_count: number }[]>`
      select state, retry_count from pgboss.job
      where name = 'send_verify_email' and data->>'username' = ${user.username}`;
    recorder.violation(
      "no verification email",
      `${user.username} after ${waitedMs} ms; its jobs: ${JSON.stringify(jobs)}`,
    );
  }
  const delivered = new Map<string, number>();
  for (const email of mail.delivered()) {
    for (const to of email.body.to ?? []) delivered.set(to, (delivered.get(to) ?? 0) + 1);
  }
  for (const user of users) {
    const outcome = verifier.outcomes.get(user.email);
    if (!outcome) continue;
    const all = mail.emails.filter(
      (e) => e.status >= 200 && e.status < 300 && e.body.to?.includes(user.email),
    );
    const links = new Set(all.map((e) => LINK.exec(e.body.text ?? "")?.[0]).filter(Boolean));
    if ((delivered.get(user.email) ?? 0) !== 1 || links.size !== 1) {
      recorder.violation(
        "not exactly one verification link",
        `${user.username}: ${delivered.get(user.email)} delivered, ${links.size} links`,
      );
    }
    if (outcome !== "verified" && outcome !== "in doubt") {
      recorder.violation("a verification link did not verify", `${user.username}: ${outcome}`);
    }
  }
  const unverified = await sql<{ username: string; email: string }[]>`
    select username, email from users where username <> 'bank' and not is_email_verified`;
  for (const user of unverified) {
    const outcome = verifier.outcomes.get(user.email);
    if (outcome === "verified" || outcome === "in doubt") {
      recorder.violation("verified link, unverified user", `${user.username} (${outcome})`);
    }
  }
  return { users: users.length, waitedMs, attempts: mail.emails.length };
}

export interface RssSample {
  at: number;
  process: string;
  pid: number;
  kib: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

/**
 * The RSS table: one row per process life (name and pid) long enough to judge, its samples in
 * up to 8 columns of equal time (the median of each, MiB), and one row per process for the
 * lives too short to judge (an instance or worker the chaos loop restarts lives tens of
 * seconds). The flatness rule, on every life with at least `minSamples` samples: after a
 * warm-up (the first quarter: JIT, pools and caches filling), the median of the last quarter of
 * the rest may not exceed 1.5× the median of its first quarter. A leak proportional to the work
 * done grows steadily and breaks it; the saw-tooth of a garbage collector (a few tens of
 * percent) does not.
 */
export function rssReport(samples: RssSample[], recorder: Recorder, minSamples: number): string[] {
  const lives = new Map<string, RssSample[]>();
  for (const sample of samples) {
    const key = `${sample.process} pid ${sample.pid}`;
    const life = lives.get(key) ?? [];
    life.push(sample);
    lives.set(key, life);
  }
  const lines = [
    "| process | samples | RSS over its life (MiB, medians of 8 equal spells) | verdict |",
    "|---|---|---|---|",
  ];
  const short = new Map<string, { lives: number; samples: number; peak: number }>();
  for (const [name, life] of lives) {
    if (life.length < minSamples) {
      const process = life[0]?.process ?? name;
      const seen = short.get(process) ?? { lives: 0, samples: 0, peak: 0 };
      seen.lives += 1;
      seen.samples += life.length;
      seen.peak = Math.max(seen.peak, ...life.map((s) => s.kib));
      short.set(process, seen);
      continue;
    }
    const columns: string[] = [];
    for (let i = 0; i < 8; i++) {
      const part = life.slice(
        Math.floor((i * life.length) / 8),
        Math.floor(((i + 1) * life.length) / 8),
      );
      columns.push((median(part.map((s) => s.kib)) / 1024).toFixed(0));
    }
    const rest = life.slice(Math.floor(life.length / 4)).map((s) => s.kib);
    const quarter = Math.max(1, Math.floor(rest.length / 4));
    const first = median(rest.slice(0, quarter));
    const last = median(rest.slice(-quarter));
    const ratio = last / first;
    const verdict = `${ratio <= 1.5 ? "flat" : "GROWING"}: ×${ratio.toFixed(2)} (last quarter ${(last / 1024).toFixed(0)} vs first ${(first / 1024).toFixed(0)} MiB)`;
    if (ratio > 1.5) recorder.violation("RSS grew", `${name}: ${verdict}`);
    lines.push(`| ${name} | ${life.length} | ${columns.join(" → ")} | ${verdict} |`);
  }
  for (const [process, seen] of short) {
    lines.push(
      `| ${process}, ${seen.lives} shorter ${seen.lives === 1 ? "life" : "lives"} | ${seen.samples} | peak ${(seen.peak / 1024).toFixed(0)} | not judged (under ${minSamples} samples each) |`,
    );
  }
  return lines;
}
