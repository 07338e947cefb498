import * as transfers from "../../../services/transfers.ts";
import type { AppRouteHandler } from "../../create-router.ts";
import type { AuthEnv } from "../../env.ts";
import { setNextLink } from "../../link.ts";
import { listQueryOf, transferJson, transferResultJson } from "../../presenters.ts";
import type * as routes from "./transfers.routes.ts";

export const createTransfer: AppRouteHandler<typeof routes.createTransfer, AuthEnv> = async (c) => {
  const body = c.req.valid("json");
  const headers = c.req.valid("header");
  const { result, replayed } = await transfers.transfer(c.var.ctx, {
    fromAccountId: body.from_account_id,
    toAccountId: body.to_account_id,
    toUsername: body.to_username,
    amount: body.amount,
    currency: body.currency,
    memo: body.memo,
    idempotencyKey: headers["Idempotency-Key"],
  });
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json(transferResultJson(result), 201);
};

export const getTransfer: AppRouteHandler<typeof routes.getTransfer, AuthEnv> = async (c) => {
  const { id } = c.req.valid("param");
  return c.json(transferJson(await transfers.getTransfer(c.var.ctx, id)), 200);
};

export const listTransfers: AppRouteHandler<typeof routes.listTransfers, AuthEnv> = async (c) => {
  const query = c.req.valid("query");
  const listed = await transfers.listTransfers(c.var.ctx, {
    accountId: query.account_id,
    ...listQueryOf(query),
  });
  setNextLink(c, listed.nextStartingAfter);
  return c.json(listed.items.map(transferJson), 200);
};
