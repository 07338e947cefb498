import type { DescMethod } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { ValidationError } from "../domain/errors.ts";
import type { Currency } from "../domain/money.ts";
import * as accounts from "../services/accounts.ts";
import * as passwordReset from "../services/password-reset.ts";
import type { LimitedOperation } from "../services/rate-limits.ts";
import * as sessions from "../services/sessions.ts";
import * as transfers from "../services/transfers.ts";
import * as users from "../services/users.ts";
import { callState, serviceContext, sessionContext } from "./call.ts";
import {
  accountMessage,
  int64Fields,
  listQueryOf,
  pageOf,
  sessionMessage,
  statementEntryMessage,
  tokenPairFields,
  transferMessage,
  transferResultFields,
  userMessage,
  withFieldNames,
} from "./convert.ts";
import type { DepositRequest, WithdrawRequest } from "./gen/pb/rpc_transfers_pb.ts";
import { SimpleBank } from "./gen/pb/service_simple_bank_pb.ts";

/**
 * The ONE implementation of `pb.SimpleBank`, served as native gRPC (the Bun server's
 * GRPC_PORT), and as Connect and gRPC-Web on the HTTP port (Bun and the Worker). Each RPC
 * converts its request, calls the same service function as its REST route, and converts the
 * result; the caller, the errors and the log line are the interceptors' (interceptors.ts).
 * Fields are checked by the services, so every rule and message is REST's.
 */

/**
 * A reply that hands out tokens must not be cached (contract, "Users and sessions"): over
 * Connect and gRPC-Web it is an HTTP response like REST's, so it says `Cache-Control: no-store`.
 */
function noStore(context: HandlerContext): void {
  context.responseHeader.set("Cache-Control", "no-store");
}

/** Who may call an RPC: anyone, or a caller with an access token (counted as `operation`). */
type Access = "public" | { operation?: LimitedOperation };

const ACCESS = {
  createUser: "public",
  updateUser: {},
  loginUser: "public",
  verifyEmail: "public",
  renewAccessToken: "public",
  logout: {},
  createAccount: {},
  getAccount: {},
  listAccounts: {},
  listEntries: {},
  createTransfer: { operation: "transfer" },
  getTransfer: {},
  listTransfers: {},
  deposit: {},
  withdraw: {},
  listSessions: {},
  endSession: {},
  requestPasswordReset: "public",
  confirmPasswordReset: "public",
} as const satisfies Record<keyof typeof SimpleBank.method, Access>;

/** The access rule of any method the routers serve (health and reflection are public). */
export function accessOf(method: DescMethod): Access {
  if (method.parent.typeName !== SimpleBank.typeName) return "public";
  return (ACCESS as Record<string, Access>)[method.localName] ?? {};
}

/** The idempotency key of CreateTransfer, Deposit and Withdraw: the field, or the `idempotency-key` metadata. */
function idempotencyKey(field: string, context: HandlerContext): string | undefined {
  const metadata = context.requestHeader.get("idempotency-key") || undefined;
  const given = field || undefined;
  if (given !== undefined && metadata !== undefined && given !== metadata) {
    throw new ValidationError([
      {
        field: "idempotency_key",
        message: "differs from the idempotency-key metadata: give one, or the same in both",
      },
    ]);
  }
  return given ?? metadata;
}

export const simpleBank: ServiceImpl<typeof SimpleBank> = {
  async createUser(req, context) {
    const user = await users.createUser(
      serviceContext(context),
      { username: req.username, password: req.password, fullName: req.fullName, email: req.email },
      callState(context.values).client,
    );
    return { user: userMessage(user) };
  },

  async updateUser(req, context) {
    const user = await users.updateUser(sessionContext(context), req.username, {
      fullName: req.fullName,
      email: req.email,
      password: req.password,
    });
    return { user: userMessage(user) };
  },

  async loginUser(req, context) {
    noStore(context);
    const result = await sessions.login(
      serviceContext(context),
      { username: req.username, password: req.password },
      callState(context.values).client,
    );
    return {
      user: userMessage(result.user),
      sessionId: result.sessionId,
      ...tokenPairFields(result),
    };
  },

  async verifyEmail(req, context) {
    const { email_id } = int64Fields({ email_id: req.emailId });
    const { isVerified } = await users.verifyEmail(serviceContext(context), {
      emailId: email_id,
      secretCode: req.secretCode,
    });
    return { isVerified };
  },

  async renewAccessToken(req, context) {
    noStore(context);
    const pair = await sessions.renewAccessToken(serviceContext(context), {
      refreshToken: req.refreshToken,
    });
    return tokenPairFields(pair);
  },

  async logout(_req, context) {
    await sessions.logout(sessionContext(context));
    return {};
  },

  async createAccount(req, context) {
    const account = await accounts.createAccount(sessionContext(context), {
      currency: req.currency as Currency,
    });
    return { account: accountMessage(account) };
  },

  async getAccount(req, context) {
    const { id } = int64Fields({ id: req.id });
    return { account: accountMessage(await accounts.getAccount(sessionContext(context), id)) };
  },

  async listAccounts(req, context) {
    const found = await accounts.listAccounts(sessionContext(context), {
      owner: req.owner,
      page: pageOf(req),
    });
    return { accounts: found.map(accountMessage) };
  },

  async listEntries(req, context) {
    const { account_id } = int64Fields({ account_id: req.accountId });
    const query = listQueryOf(req);
    const listed = await withFieldNames({ id: "account_id" }, () =>
      accounts.statement(sessionContext(context), { accountId: account_id, ...query }),
    );
    return { entries: listed.items.map(statementEntryMessage), hasMore: listed.hasMore };
  },

  async createTransfer(req, context) {
    const ids = int64Fields({
      from_account_id: req.fromAccountId,
      to_account_id: req.toAccountId,
      amount: req.amount,
    });
    // proto3's unset: 0 and "" (contract: exactly one of to_account_id and to_username).
    const byName = req.toUsername !== "";
    const key = idempotencyKey(req.idempotencyKey, context);
    const { result, replayed } = await withFieldNames(
      { "Idempotency-Key": "idempotency_key" },
      () =>
        transfers.transfer(sessionContext(context), {
          fromAccountId: ids.from_account_id,
          toAccountId: byName && ids.to_account_id === 0 ? undefined : ids.to_account_id,
          toUsername: byName ? req.toUsername : undefined,
          amount: ids.amount,
          currency: req.currency as Currency,
          memo: req.memo === "" ? undefined : req.memo,
          idempotencyKey: key,
        }),
    );
    return { ...transferResultFields(result), replayed };
  },

  async getTransfer(req, context) {
    const { id } = int64Fields({ id: req.id });
    return { transfer: transferMessage(await transfers.getTransfer(sessionContext(context), id)) };
  },

  async listTransfers(req, context) {
    const { account_id } = int64Fields({ account_id: req.accountId });
    const query = listQueryOf(req);
    const listed = await withFieldNames({ id: "account_id" }, () =>
      transfers.listTransfers(sessionContext(context), {
        accountId: account_id === 0 ? undefined : account_id,
        ...query,
      }),
    );
    return { transfers: listed.items.map(transferMessage), hasMore: listed.hasMore };
  },

  async listSessions(_req, context) {
    const found = await sessions.listSessions(sessionContext(context));
    return { sessions: found.map(sessionMessage) };
  },

  async endSession(req, context) {
    await sessions.endSession(sessionContext(context), req.sessionId);
    return {};
  },

  async requestPasswordReset(req, context) {
    await passwordReset.requestPasswordReset(
      serviceContext(context),
      { email: req.email },
      callState(context.values).client,
    );
    return {};
  },

  async confirmPasswordReset(req, context) {
    await passwordReset.confirmPasswordReset(serviceContext(context), {
      resetId: req.resetId,
      secretCode: req.secretCode,
      newPassword: req.newPassword,
    });
    return {};
  },

  deposit: (req, context) => moveCash(transfers.deposit, req, context),

  withdraw: (req, context) => moveCash(transfers.withdraw, req, context),
};

/** Deposit and Withdraw alike: the request's fields (and key) to the service, its result back. */
async function moveCash(
  move: typeof transfers.deposit,
  req: DepositRequest | WithdrawRequest,
  context: HandlerContext,
) {
  const ids = int64Fields({ account_id: req.accountId, amount: req.amount });
  const key = idempotencyKey(req.idempotencyKey, context);
  const { result, replayed } = await withFieldNames(
    { id: "account_id", "Idempotency-Key": "idempotency_key" },
    () =>
      move(sessionContext(context), {
        accountId: ids.account_id,
        amount: ids.amount,
        currency: req.currency as Currency,
        idempotencyKey: key,
      }),
  );
  return { ...transferResultFields(result), replayed };
}
