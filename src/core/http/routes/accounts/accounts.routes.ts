import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth } from "../../middleware/require-auth.ts";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  json,
  jsonBody,
  NEXT_LINK_HEADER,
  problems,
} from "../../openapi/responses.ts";
import {
  AccountSchema,
  CreateAccountBody,
  IdParams,
  ListAccountsQuery,
  StatementEntrySchema,
  StatementQuery,
} from "../../openapi/schemas.ts";

const tags = ["Accounts"];
const security = [{ bearerAuth: [] }];
const middleware = requireAuth;

export const createAccount = createRoute({
  method: "post",
  path: "/accounts",
  operationId: "createAccount",
  tags,
  summary: "Open an account in a currency",
  description: "Balance 0. One account per owner and currency (409 `account_exists`).",
  security,
  middleware,
  request: jsonBody(CreateAccountBody),
  responses: {
    201: json(AccountSchema, "The new account"),
    ...problems(...BODY_PROBLEMS, ...AUTH_PROBLEMS, 409),
  },
});

export const getAccount = createRoute({
  method: "get",
  path: "/accounts/{id}",
  operationId: "getAccount",
  tags,
  summary: "One account",
  description: "Yours, or anyone's for a banker (403 otherwise).",
  security,
  middleware,
  request: { params: IdParams },
  responses: {
    200: json(AccountSchema, "The account"),
    ...problems(400, ...AUTH_PROBLEMS, 403, 404),
  },
});

export const listAccounts = createRoute({
  method: "get",
  path: "/accounts",
  operationId: "listAccounts",
  tags,
  summary: "Your accounts (or another owner's, for bankers), by id",
  security,
  middleware,
  request: { query: ListAccountsQuery },
  responses: {
    200: json(z.array(AccountSchema), "A page of accounts ([] when none)"),
    ...problems(400, ...AUTH_PROBLEMS, 403),
  },
});

export const listEntries = createRoute({
  method: "get",
  path: "/accounts/{id}/entries",
  operationId: "listEntries",
  tags,
  summary: "An account's statement: its entries with the balance after each",
  description: [
    "Same visibility as the account. Each entry carries `balance_after` (written with the entry: the latest one equals the balance), its `kind`, the counterparty account and its owner (`bank` for cash), and the transfer's memo.",
    "",
    'By id, oldest first (`order=desc`: newest first); `from`/`to` keep entries created in [from, to). Paginated by `page_id`/`page_size`, or by cursor: `limit` and `starting_after` (the last id of the previous page), with a `Link: <…>; rel="next"` header while more exist.',
  ].join("\n"),
  security,
  middleware,
  request: { params: IdParams, query: StatementQuery },
  responses: {
    200: {
      ...json(z.array(StatementEntrySchema), "A page of entries ([] when none)"),
      headers: NEXT_LINK_HEADER,
    },
    ...problems(400, ...AUTH_PROBLEMS, 403, 404),
  },
});
