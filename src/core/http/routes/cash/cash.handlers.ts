import * as transfers from "../../../services/transfers.ts";
import type { AppRouteHandler } from "../../create-router.ts";
import type { AuthEnv } from "../../env.ts";
import { transferResultJson } from "../../presenters.ts";
import type * as routes from "./cash.routes.ts";

export const deposit: AppRouteHandler<typeof routes.deposit, AuthEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const headers = c.req.valid("header");
  const { result, replayed } = await transfers.deposit(c.var.ctx, {
    accountId: id,
    ...body,
    idempotencyKey: headers["Idempotency-Key"],
  });
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json(transferResultJson(result), 201);
};

export const withdraw: AppRouteHandler<typeof routes.withdraw, AuthEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const body = c.req.valid("json");
  const headers = c.req.valid("header");
  const { result, replayed } = await transfers.withdraw(c.var.ctx, {
    accountId: id,
    ...body,
    idempotencyKey: headers["Idempotency-Key"],
  });
  if (replayed) c.header("Idempotent-Replayed", "true");
  return c.json(transferResultJson(result), 201);
};
