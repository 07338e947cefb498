import * as passwordReset from "../../../services/password-reset.ts";
import * as users from "../../../services/users.ts";
import { clientInfo } from "../../client-info.ts";
import type { AppRouteHandler } from "../../create-router.ts";
import type { AuthEnv } from "../../env.ts";
import { userJson } from "../../presenters.ts";
import type * as routes from "./users.routes.ts";

export const createUser: AppRouteHandler<typeof routes.createUser> = async (c) => {
  const body = c.req.valid("json");
  const user = await users.createUser(
    c.var.ctx,
    {
      username: body.username,
      password: body.password,
      fullName: body.full_name,
      email: body.email,
    },
    clientInfo(c),
  );
  return c.json(userJson(user), 201);
};

export const getMe: AppRouteHandler<typeof routes.getMe, AuthEnv> = async (c) => {
  const user = await users.getUser(c.var.ctx, c.var.ctx.actor.username);
  return c.json(userJson(user), 200);
};

export const updateUser: AppRouteHandler<typeof routes.updateUser, AuthEnv> = async (c) => {
  const { username } = c.req.valid("param");
  const body = c.req.valid("json");
  const user = await users.updateUser(c.var.ctx, username, {
    fullName: body.full_name,
    email: body.email,
    password: body.password,
  });
  return c.json(userJson(user), 200);
};

export const verifyEmail: AppRouteHandler<typeof routes.verifyEmail> = async (c) => {
  const query = c.req.valid("query");
  await users.verifyEmail(c.var.ctx, { emailId: query.email_id, secretCode: query.secret_code });
  return c.json({ is_verified: true as const }, 200);
};

export const resendVerification: AppRouteHandler<
  typeof routes.resendVerification,
  AuthEnv
> = async (c) => {
  const { email } = await users.resendVerification(c.var.ctx);
  return c.json({ queued: true as const, email }, 202);
};

export const requestPasswordReset: AppRouteHandler<typeof routes.requestPasswordReset> = async (
  c,
) => {
  const { email } = c.req.valid("json");
  await passwordReset.requestPasswordReset(c.var.ctx, { email }, clientInfo(c));
  return c.body(null, 202);
};

export const confirmPasswordReset: AppRouteHandler<typeof routes.confirmPasswordReset> = async (
  c,
) => {
  const body = c.req.valid("json");
  await passwordReset.confirmPasswordReset(c.var.ctx, {
    resetId: body.reset_id,
    secretCode: body.secret_code,
    newPassword: body.new_password,
  });
  return c.body(null, 204);
};
