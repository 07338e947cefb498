import * as sessions from "../../../services/sessions.ts";
import * as users from "../../../services/users.ts";
import { clientInfo } from "../../client-info.ts";
import type { AppRouteHandler } from "../../create-router.ts";
import type { AuthEnv } from "../../env.ts";
import {
  loginUserResponseJson,
  userResponseJson,
  verifyEmailResponseJson,
} from "./gateway.presenters.ts";
import type * as routes from "./gateway.routes.ts";

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
  return c.json(userResponseJson(user), 200);
};

export const loginUser: AppRouteHandler<typeof routes.loginUser> = async (c) => {
  const body = c.req.valid("json");
  const result = await sessions.login(
    c.var.ctx,
    { username: body.username, password: body.password },
    clientInfo(c),
  );
  return c.json(loginUserResponseJson(result), 200);
};

export const updateUser: AppRouteHandler<typeof routes.updateUser, AuthEnv> = async (c) => {
  const body = c.req.valid("json");
  const user = await users.updateUser(c.var.ctx, body.username, {
    fullName: body.full_name,
    email: body.email,
    password: body.password,
  });
  return c.json(userResponseJson(user), 200);
};

export const verifyEmail: AppRouteHandler<typeof routes.verifyEmail> = async (c) => {
  const query = c.req.valid("query");
  const result = await users.verifyEmail(c.var.ctx, {
    emailId: query.email_id,
    secretCode: query.secret_code,
  });
  return c.json(verifyEmailResponseJson(result), 200);
};
