/**
 * The soak's clients: each one signs users up, logs in, renews tokens, reads accounts,
 * statements and transfers, makes transfers with an Idempotency-Key (retrying the same key
 * after a 503, a 409 in progress or a lost answer, on either instance, and now and then
 * resending a key that already succeeded), and has a banker of its own deposit cash. Everything
 * the clients were told is kept, for the checks against the database afterwards.
 */
import { backoff, type Outcome, type Recorder, retryable, type Target } from "./http.ts";

interface Customer {
  username: string;
  password: string;
  email: string;
  accountId: number;
  token: string;
  refreshToken: string;
  /** When the access token was issued (renewed well before its 15 minutes). */
  tokenAt: number;
  /** In use by a client (one at a time, so token rotation stays in order). */
  busy: boolean;
  /** A renewal's answer was lost: the refresh token may be spent. */
  refreshInDoubt: boolean;
  /** The last renewal was answered 503 (so the refresh token should still be the current one). */
  renewRefused: boolean;
}

export interface SignupRecord {
  username: string;
  email: string;
  /** 201 seen, or a 409 after an attempt whose answer was lost (it had been created). */
  created: boolean;
  /** Some attempt's answer was lost (the user may exist without a 201). */
  inDoubt: boolean;
}

export interface TransferRecord {
  key: string;
  owner: string;
  from: number;
  to: number;
  amount: number;
  /** Every answer, in order (`network`, `timeout` or the status). */
  answers: string[];
  /** The transfer id of every 201 (first answer and replays alike). */
  ids: number[];
  /** 201 (`paid`), 422 insufficient funds (`refused`), or still unknown. */
  final: "paid" | "refused" | "unknown";
  /** Replays answered with Idempotent-Replayed: true. */
  replays: number;
}

export interface DepositRecord {
  /** The Idempotency-Key every attempt of this deposit carries. */
  key: string;
  accountId: number;
  amount: number;
  answers: string[];
  transferId?: number;
}

export interface LoadState {
  recorder: Recorder;
  targets: Target[];
  customers: Customer[];
  signups: Map<string, SignupRecord>;
  transfers: TransferRecord[];
  deposits: DepositRecord[];
  /** Makes a user a banker (as the operator CLI would), in SQL. */
  grantBanker(username: string): Promise<void>;
  stopping: boolean;
}

const MAX_ATTEMPTS = 30;
const RENEW_AFTER_MS = 5 * 60_000;
let depositSequence = 0;

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)] as T;
const answerOf = (outcome: Outcome) =>
  outcome.kind === "reply" ? String(outcome.status) : outcome.kind;

/** Runs `send` on alternating instances until the answer is not retryable (or attempts run out). */
async function untilDefinitive(
  state: LoadState,
  send: (target: Target, attempt: number) => Promise<Outcome>,
  also: number[] = [],
): Promise<{ outcome: Outcome; answers: string[]; lost: boolean }> {
  const answers: string[] = [];
  let lost = false;
  let target = pick(state.targets);
  for (let attempt = 0; ; attempt++) {
    const outcome = await send(target, attempt);
    answers.push(answerOf(outcome));
    if (outcome.kind !== "reply") lost = true;
    if (!retryable(outcome, also) || attempt + 1 >= MAX_ATTEMPTS) {
      return { outcome, answers, lost };
    }
    await Bun.sleep(backoff(outcome, attempt));
    target = state.targets[(state.targets.indexOf(target) + 1) % state.targets.length] as Target;
  }
}

function tokensFrom(customer: Customer, body: Record<string, unknown>): void {
  customer.token = String(body.access_token);
  customer.refreshToken = String(body.refresh_token);
  customer.tokenAt = Date.now();
  customer.refreshInDoubt = false;
}

async function login(state: LoadState, customer: Customer): Promise<boolean> {
  const { outcome } = await untilDefinitive(state, (target) =>
    state.recorder.call("login", target, "POST", "/users/login", {
      body: { username: customer.username, password: customer.password },
      expect: [200],
    }),
  );
  if (outcome.kind !== "reply" || outcome.status !== 200) return false;
  tokensFrom(customer, outcome.body);
  return true;
}

/** Signs up, logs in and opens a USD account; undefined when it could not. */
async function onboard(state: LoadState, banker = false): Promise<Customer | undefined> {
  const id = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  const username = `soak_${id}`;
  const email = `${username}@soak.example.com`;
  const password = `pw-${id}`;
  const record: SignupRecord = { username, email, created: false, inDoubt: false };
  state.signups.set(username, record);
  const signup = await untilDefinitive(state, (target) =>
    state.recorder
      .call("signup", target, "POST", "/users", {
        body: { username, password, full_name: "Soak Tester", email },
        // 409: an earlier attempt whose answer was lost created the user.
        expect: record.inDoubt ? [201, 409] : [201],
      })
      .then((outcome) => {
        if (outcome.kind !== "reply") record.inDoubt = true;
        return outcome;
      }),
  );
  if (signup.outcome.kind !== "reply") return undefined;
  if (signup.outcome.status === 201 || signup.outcome.status === 409) record.created = true;
  else return undefined;
  if (banker) await state.grantBanker(username);
  const customer: Customer = {
    username,
    password,
    email,
    accountId: 0,
    token: "",
    refreshToken: "",
    tokenAt: 0,
    busy: true,
    refreshInDoubt: false,
    renewRefused: false,
  };
  if (!(await login(state, customer))) return undefined;
  let accountInDoubt = false;
  const account = await untilDefinitive(state, (target) =>
    state.recorder
      .call("open account", target, "POST", "/accounts", {
        token: customer.token,
        body: { currency: "USD" },
        expect: accountInDoubt ? [201, 409] : [201],
      })
      .then((outcome) => {
        if (outcome.kind !== "reply") accountInDoubt = true;
        return outcome;
      }),
  );
  if (account.outcome.kind !== "reply") return undefined;
  if (account.outcome.status === 201) {
    customer.accountId = Number(account.outcome.body.id);
  } else if (account.outcome.status === 409) {
    const list = await untilDefinitive(state, (target) =>
      state.recorder.call("read", target, "GET", "/accounts", {
        token: customer.token,
        expect: [200],
      }),
    );
    if (list.outcome.kind !== "reply" || list.outcome.status !== 200) return undefined;
    const items = (list.outcome.body as unknown as { id: number }[]) ?? [];
    customer.accountId = Number(items[0]?.id ?? 0);
  }
  if (!customer.accountId) return undefined;
  customer.busy = false;
  return customer;
}

/** A token fresh enough to use: renews an old one first; false when the customer is stuck. */
async function ensureToken(state: LoadState, customer: Customer): Promise<boolean> {
  if (customer.refreshInDoubt) return login(state, customer);
  if (Date.now() - customer.tokenAt < RENEW_AFTER_MS) return true;
  return renew(state, customer);
}

async function renew(state: LoadState, customer: Customer): Promise<boolean> {
  const target = pick(state.targets);
  const afterRefusal = customer.renewRefused;
  const outcome = await state.recorder.call("renew", target, "POST", "/tokens/renew_access", {
    body: { refresh_token: customer.refreshToken },
    // A 401 after a 503 is reported below, more precisely.
    expect: afterRefusal ? [200, 401] : [200],
  });
  customer.renewRefused = outcome.kind === "reply" && outcome.status === 503;
  if (outcome.kind !== "reply") {
    // The answer is lost: the refresh token may have been rotated. Log in afresh.
    customer.refreshInDoubt = true;
    return login(state, customer);
  }
  if (outcome.status === 200) {
    tokensFrom(customer, outcome.body);
    return true;
  }
  if (outcome.status === 401 && afterRefusal) {
    state.recorder.violation(
      "a renewal answered 503 had rotated the refresh token",
      `${customer.username}: the token it kept is now refused: ${JSON.stringify(outcome.body)}`,
    );
  }
  return outcome.status === 503 ? true : login(state, customer);
}

async function read(state: LoadState, customer: Customer): Promise<void> {
  const paths = [
    `/accounts/${customer.accountId}`,
    `/accounts/${customer.accountId}/entries?order=desc`,
    `/transfers?account_id=${customer.accountId}`,
    "/users/me",
  ];
  await state.recorder.call("read", pick(state.targets), "GET", pick(paths), {
    token: customer.token,
    expect: [200],
  });
}

/** One transfer under one key until its answer is known (or attempts run out). */
export async function sendTransfer(
  state: LoadState,
  record: TransferRecord,
  token: string,
): Promise<void> {
  const body = {
    from_account_id: record.from,
    to_account_id: record.to,
    amount: record.amount,
    currency: "USD",
  };
  const { outcome, answers } = await untilDefinitive(
    state,
    (target) =>
      state.recorder.call("transfer", target, "POST", "/transfers", {
        token,
        body,
        headers: { "Idempotency-Key": record.key },
        expect: [201, 409, 422],
      }),
    [409],
  );
  record.answers.push(...answers);
  if (outcome.kind !== "reply") return;
  if (outcome.status === 201) {
    record.final = "paid";
    record.ids.push(Number((outcome.body.transfer as { id?: unknown } | undefined)?.id));
    if (outcome.headers.get("idempotent-replayed") === "true") record.replays += 1;
  } else if (outcome.status === 422) {
    if (outcome.body.code !== "insufficient_funds") {
      state.recorder.violation(
        "transfer refused for another reason than funds",
        JSON.stringify(outcome.body).slice(0, 300),
      );
    }
    if (record.final !== "paid") record.final = "refused";
  }
}

async function transfer(state: LoadState, customer: Customer): Promise<void> {
  const others = state.customers.filter((c) => c !== customer && c.accountId);
  if (others.length === 0) return;
  const record: TransferRecord = {
    key: crypto.randomUUID(),
    owner: customer.username,
    from: customer.accountId,
    to: pick(others).accountId,
    amount: 1 + Math.floor(Math.random() * 5_000),
    answers: [],
    ids: [],
    final: "unknown",
    replays: 0,
  };
  state.transfers.push(record);
  await sendTransfer(state, record, customer.token);
  // A client that lost track and sends the same key again: it must replay, never pay twice.
  if (record.final === "paid" && Math.random() < 0.2) {
    const before = record.ids.length;
    await sendTransfer(state, record, customer.token);
    if (record.ids.length > before && record.replays === 0) {
      state.recorder.violation(
        "a resent key was not replayed",
        `${record.key}: answers ${record.answers.join(",")}`,
      );
    }
  }
}

async function deposit(state: LoadState, banker: Customer): Promise<void> {
  const to = pick(state.customers.filter((c) => c.accountId));
  if (!to) return;
  depositSequence += 1;
  // Unique amounts: each deposit in the database is matched to exactly one attempt.
  const record: DepositRecord = {
    key: crypto.randomUUID(),
    accountId: to.accountId,
    amount: 100_000 + depositSequence,
    answers: [],
  };
  state.deposits.push(record);
  // One Idempotency-Key for every attempt: a retry after a 503 or a lost answer (the first may
  // have committed) replays that deposit instead of paying it again.
  const { outcome, answers } = await untilDefinitive(
    state,
    (target) =>
      state.recorder.call("deposit", target, "POST", `/accounts/${record.accountId}/deposits`, {
        token: banker.token,
        body: { amount: record.amount, currency: "USD" },
        headers: { "Idempotency-Key": record.key },
        expect: [201, 409],
      }),
    [409],
  );
  record.answers.push(...answers);
  if (outcome.kind === "reply" && outcome.status === 201) {
    record.transferId = Number((outcome.body.transfer as { id?: unknown } | undefined)?.id);
  }
}

/** A customer no other client is using, marked busy; undefined when all are. */
function borrow(state: LoadState): Customer | undefined {
  const free = state.customers.filter((c) => !c.busy);
  const customer = free.length ? pick(free) : undefined;
  if (customer) customer.busy = true;
  return customer;
}

/** One client until `state.stopping`: its own banker, then a mix of everything. */
export async function runClient(state: LoadState): Promise<void> {
  let banker: Customer | undefined;
  while (!banker && !state.stopping) banker = await onboard(state, true);
  for (let i = 0; i < 2 && !state.stopping; i++) {
    const customer = await onboard(state);
    if (customer) state.customers.push(customer);
  }
  while (!state.stopping) {
    const roll = Math.random();
    if (roll < 0.03) {
      const customer = await onboard(state);
      if (customer) state.customers.push(customer);
      continue;
    }
    if (roll < 0.13 && banker) {
      if (await ensureToken(state, banker)) await deposit(state, banker);
      continue;
    }
    const customer = borrow(state);
    if (!customer) {
      await Bun.sleep(20);
      continue;
    }
    try {
      if (!(await ensureToken(state, customer))) continue;
      if (roll < 0.23) await login(state, customer);
      else if (roll < 0.3) await renew(state, customer);
      else if (roll < 0.55) await read(state, customer);
      else await transfer(state, customer);
    } finally {
      customer.busy = false;
    }
  }
}
