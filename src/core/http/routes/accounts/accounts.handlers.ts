import * as accounts from "../../../services/accounts.ts";
import type { AppRouteHandler } from "../../create-router.ts";
import type { AuthEnv } from "../../env.ts";
import { setNextLink } from "../../link.ts";
import { accountJson, listQueryOf, statementEntryJson } from "../../presenters.ts";
import type * as routes from "./accounts.routes.ts";

export const createAccount: AppRouteHandler<typeof routes.createAccount, AuthEnv> = async (c) => {
  const { currency } = c.req.valid("json");
  const account = await accounts.createAccount(c.var.ctx, { currency });
  return c.json(accountJson(account), 201);
};

export const getAccount: AppRouteHandler<typeof routes.getAccount, AuthEnv> = async (c) => {
  const { id } = c.req.valid("param");
  return c.json(accountJson(await accounts.getAccount(c.var.ctx, id)), 200);
};

export const listAccounts: AppRouteHandler<typeof routes.listAccounts, AuthEnv> = async (c) => {
  const query = c.req.valid("query");
  const found = await accounts.listAccounts(c.var.ctx, {
    owner: query.owner,
    page: { pageId: query.page_id, pageSize: query.page_size },
  });
  return c.json(found.map(accountJson), 200);
};

export const listEntries: AppRouteHandler<typeof routes.listEntries, AuthEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const listed = await accounts.statement(c.var.ctx, {
    accountId: id,
    ...listQueryOf(c.req.valid("query")),
  });
  setNextLink(c, listed.nextStartingAfter);
  return c.json(listed.items.map(statementEntryJson), 200);
};
