import { createRoute, z } from "@hono/zod-openapi";
import { NO_STORE_HEADER, noStore } from "../../middleware/no-store.ts";
import { requireAuth } from "../../middleware/require-auth.ts";
import { AUTH_PROBLEMS, BODY_PROBLEMS, json, jsonBody, problems } from "../../openapi/responses.ts";
import {
  LoginBody,
  LoginResultSchema,
  RenewAccessTokenBody,
  SessionIdParams,
  SessionSchema,
  TokenPairSchema,
} from "../../openapi/schemas.ts";

const tags = ["Sessions"];

export const login = createRoute({
  method: "post",
  path: "/users/login",
  operationId: "login",
  tags,
  summary: "Log in: open a session",
  description:
    "Unknown users and wrong passwords get the same 401 `invalid_credentials`. The session records the user agent and client IP.",
  middleware: noStore,
  request: jsonBody(LoginBody),
  responses: {
    200: {
      ...json(LoginResultSchema, "The session's tokens and the user"),
      headers: NO_STORE_HEADER,
    },
    ...problems(...BODY_PROBLEMS, 401, 429),
  },
});

export const renewAccessToken = createRoute({
  method: "post",
  path: "/tokens/renew_access",
  operationId: "renewAccessToken",
  tags,
  summary: "Trade a refresh token for new tokens (rotation)",
  description:
    "Returns a new access token AND a new refresh token; the presented refresh token stops working. Presenting an already-rotated refresh token blocks the whole session (theft detection).",
  middleware: noStore,
  request: jsonBody(RenewAccessTokenBody),
  responses: {
    200: { ...json(TokenPairSchema, "New tokens"), headers: NO_STORE_HEADER },
    ...problems(...BODY_PROBLEMS, 401),
  },
});

export const logout = createRoute({
  method: "post",
  path: "/users/logout",
  operationId: "logout",
  tags,
  summary: "Log out: revoke the current session",
  description: "Its refresh token stops working and its access tokens are rejected.",
  security: [{ bearerAuth: [] }],
  middleware: requireAuth,
  responses: {
    204: { description: "The session is revoked" },
    ...problems(...AUTH_PROBLEMS),
  },
});

export const listSessions = createRoute({
  method: "get",
  path: "/users/me/sessions",
  operationId: "listSessions",
  tags,
  summary: "Your active sessions",
  description:
    "Sessions not ended (logout, ended here, blocked) and not expired, oldest first; `current` marks the one asking.",
  security: [{ bearerAuth: [] }],
  middleware: requireAuth,
  responses: {
    200: json(z.array(SessionSchema), "Your active sessions"),
    ...problems(400, ...AUTH_PROBLEMS),
  },
});

export const endSession = createRoute({
  method: "delete",
  path: "/users/me/sessions/{session_id}",
  operationId: "endSession",
  tags,
  summary: "End one of your sessions",
  description:
    "Like a logout of that session: its refresh token stops working and its access tokens are rejected at once, on every instance. 404 for a session that is not yours or not active.",
  security: [{ bearerAuth: [] }],
  middleware: requireAuth,
  request: { params: SessionIdParams },
  responses: {
    204: { description: "The session is ended" },
    ...problems(400, ...AUTH_PROBLEMS, 404),
  },
});
