import { createRoute } from "@hono/zod-openapi";
import { requireAuth } from "../../middleware/require-auth.ts";
import { AUTH_PROBLEMS, BODY_PROBLEMS, json, jsonBody, problems } from "../../openapi/responses.ts";
import {
  CashBody,
  IdempotencyHeaders,
  IdempotentReplayedHeader,
  IdParams,
  TransferResultSchema,
} from "../../openapi/schemas.ts";

const tags = ["Cash (bankers)"];
const security = [{ bearerAuth: [] }];
const middleware = requireAuth;

const IDEMPOTENCY =
  "With `Idempotency-Key` (the account and the direction are part of the request): the same key and body replay the first result (201 with `Idempotent-Replayed: true`); the same key with another body, another account or the other direction is 422 `idempotency_key_reused`; while the first is still running, 409 `idempotency_in_progress`.";

const created = {
  ...json(TransferResultSchema, "The posted transfer and its entries"),
  headers: IdempotentReplayedHeader,
};

export const deposit = createRoute({
  method: "post",
  path: "/accounts/{id}/deposits",
  operationId: "deposit",
  tags,
  summary: "Cash in: a transfer from the currency's treasury to the account",
  description: [
    "Bankers only (403 otherwise). The currency must match the account's (422 `currency_mismatch`); a treasury account cannot be the target (422 `invalid_account`).",
    "",
    IDEMPOTENCY,
  ].join("\n"),
  security,
  middleware,
  request: { params: IdParams, headers: IdempotencyHeaders, ...jsonBody(CashBody) },
  responses: {
    201: created,
    ...problems(...BODY_PROBLEMS, ...AUTH_PROBLEMS, 403, 404, 409, 422),
  },
});

export const withdraw = createRoute({
  method: "post",
  path: "/accounts/{id}/withdrawals",
  operationId: "withdraw",
  tags,
  summary: "Cash out: a transfer from the account to the currency's treasury",
  description: [
    "Bankers only (403 otherwise). Subject to funds (422 `insufficient_funds`); same currency and account rules as deposits.",
    "",
    IDEMPOTENCY,
  ].join("\n"),
  security,
  middleware,
  request: { params: IdParams, headers: IdempotencyHeaders, ...jsonBody(CashBody) },
  responses: {
    201: created,
    ...problems(...BODY_PROBLEMS, ...AUTH_PROBLEMS, 403, 404, 409, 422),
  },
});
