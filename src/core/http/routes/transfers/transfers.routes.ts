import { createRoute, z } from "@hono/zod-openapi";
import { requireAuth, requireAuthFor } from "../../middleware/require-auth.ts";
import {
  AUTH_PROBLEMS,
  BODY_PROBLEMS,
  json,
  jsonBody,
  NEXT_LINK_HEADER,
  problems,
} from "../../openapi/responses.ts";
import {
  IdempotencyHeaders,
  IdempotentReplayedHeader,
  ListTransfersQuery,
  TransferBody,
  TransferIdParams,
  TransferResultSchema,
  TransferSchema,
} from "../../openapi/schemas.ts";

const tags = ["Transfers"];
const security = [{ bearerAuth: [] }];
const middleware = requireAuth;

export const createTransfer = createRoute({
  method: "post",
  path: "/transfers",
  operationId: "createTransfer",
  tags,
  summary: "Move money from one of your accounts to another account",
  description: [
    "One database transaction: the transfer, a debit and a credit entry, both balances.",
    "",
    "Name the recipient by `to_account_id`, or pay a person by `to_username`: their account in `currency` (404 `recipient_not_found` when they have none; nothing else about them is shown). An optional `memo` is stored on the transfer and shown in both statements.",
    "",
    "Checks, in this order: validation 400 → from account missing 404 → from currency ≠ request currency 422 `currency_mismatch` → from account is a treasury 422 `invalid_account` → from account not yours 403 → to account missing 404 (`recipient_not_found` by username) → to currency mismatch 422 → to account is a treasury 422 `invalid_account` → from = to 422 `same_account` → balance too low 422 `insufficient_funds`.",
    "",
    "`to_account.balance` is shown only to its owner or a banker.",
    "",
    "With `Idempotency-Key` (the memo and the recipient are part of the body): the same key and body replay the first result (201 with `Idempotent-Replayed: true`); the same key with another body is 422 `idempotency_key_reused`; while the first is still running, 409 `idempotency_in_progress`.",
  ].join("\n"),
  security,
  middleware: requireAuthFor("transfer"),
  request: { headers: IdempotencyHeaders, ...jsonBody(TransferBody) },
  responses: {
    201: {
      ...json(TransferResultSchema, "The transfer, both accounts after it, and both entries"),
      headers: IdempotentReplayedHeader,
    },
    ...problems(...BODY_PROBLEMS, ...AUTH_PROBLEMS, 403, 404, 409, 422, 429),
  },
});

export const getTransfer = createRoute({
  method: "get",
  path: "/transfers/{id}",
  operationId: "getTransfer",
  tags,
  summary: "One transfer",
  description: "Visible to the owner of either side, or a banker.",
  security,
  middleware,
  request: { params: TransferIdParams },
  responses: {
    200: json(TransferSchema, "The transfer"),
    ...problems(400, ...AUTH_PROBLEMS, 403, 404),
  },
});

export const listTransfers = createRoute({
  method: "get",
  path: "/transfers",
  operationId: "listTransfers",
  tags,
  summary: "Your transfer history, or an account's transfers",
  description: [
    "With `account_id`: the transfers with that account on either side (an account you can see). Without: the transfers touching any of your accounts.",
    "",
    'By id, oldest first (`order=desc`: newest first); `from`/`to` keep transfers created in [from, to). Paginated by `page_id`/`page_size`, or by cursor: `limit` and `starting_after` (the last id of the previous page), with a `Link: <…>; rel="next"` header while more exist.',
  ].join("\n"),
  security,
  middleware,
  request: { query: ListTransfersQuery },
  responses: {
    200: {
      ...json(z.array(TransferSchema), "A page of transfers ([] when none)"),
      headers: NEXT_LINK_HEADER,
    },
    ...problems(400, ...AUTH_PROBLEMS, 403, 404),
  },
});
