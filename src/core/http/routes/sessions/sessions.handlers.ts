import * as sessions from "../../../services/sessions.ts";
import { clientInfo } from "../../client-info.ts";
import type { AppRouteHandler } from "../../create-router.ts";
import type { AuthEnv } from "../../env.ts";
import { loginJson, sessionJson, tokenPairJson } from "../../presenters.ts";
import type * as routes from "./sessions.routes.ts";

export const login: AppRouteHandler<typeof routes.login> = async (c) => {
  const body = c.req.valid("json");
  const result = await sessions.login(c.var.ctx, body, clientInfo(c));
  return c.json(loginJson(result), 200);
};

export const renewAccessToken: AppRouteHandler<typeof routes.renewAccessToken> = async (c) => {
  const body = c.req.valid("json");
  const pair = await sessions.renewAccessToken(c.var.ctx, { refreshToken: body.refresh_token });
  return c.json(tokenPairJson(pair), 200);
};

export const logout: AppRouteHandler<typeof routes.logout, AuthEnv> = async (c) => {
  await sessions.logout(c.var.ctx);
  return c.body(null, 204);
};

export const listSessions: AppRouteHandler<typeof routes.listSessions, AuthEnv> = async (c) => {
  const found = await sessions.listSessions(c.var.ctx);
  return c.json(found.map(sessionJson), 200);
};

export const endSession: AppRouteHandler<typeof routes.endSession, AuthEnv> = async (c) => {
  const { session_id } = c.req.valid("param");
  await sessions.endSession(c.var.ctx, session_id);
  return c.body(null, 204);
};
