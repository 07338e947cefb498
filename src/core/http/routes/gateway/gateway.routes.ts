import { createRoute } from "@hono/zod-openapi";
import { NO_STORE_HEADER, noStore } from "../../middleware/no-store.ts";
import { requireAuth } from "../../middleware/require-auth.ts";
import { AUTH_PROBLEMS, BODY_PROBLEMS, json, jsonBody, problems } from "../../openapi/responses.ts";
import { emptyBodyIsEmptyMessage } from "./gateway.protojson.ts";
import {
  CreateUserRequest,
  CreateUserResponse,
  LoginUserRequest,
  LoginUserResponse,
  UpdateUserRequest,
  UpdateUserResponse,
  VerifyEmailRequest,
  VerifyEmailResponse,
} from "./gateway.schemas.ts";

/**
 * The original simplebank's HTTP API (its grpc-gateway, `/v1/...`), kept for its clients: its
 * paths and JSON, on the same services, rules and limits as the REST routes named below.
 */

const tags = ["Gateway (original clients)"];

const GATEWAY =
  "The original's gateway JSON: proto field names (`full_name`) or their lowerCamel JSON names (`fullName`) in, unknown body fields ignored (unknown query parameters are 400, as everywhere); proto names out, zero values (`false`, empty strings) left out; success is 200. **Errors differ on purpose**: they are this API's problem+json (`code`, `errors[]` naming fields by their proto names), not the original's `{code, message, details}`.";

export const createUser = createRoute({
  method: "post",
  path: "/v1/create_user",
  operationId: "gatewayCreateUser",
  tags,
  summary: "Register a user (the original's CreateUser)",
  description: `\`POST /users\`, with 200 instead of 201: a depositor, and the email that verifies the address. ${GATEWAY}`,
  middleware: emptyBodyIsEmptyMessage,
  request: jsonBody(CreateUserRequest),
  responses: {
    200: json(CreateUserResponse, "The new user"),
    ...problems(...BODY_PROBLEMS, 409, 429),
  },
});

export const loginUser = createRoute({
  method: "post",
  path: "/v1/login_user",
  operationId: "gatewayLoginUser",
  tags,
  summary: "Log in (the original's LoginUser)",
  description: `\`POST /users/login\`: a wrong username or password is 401 \`invalid_credentials\` (the original answered 404, NotFound). ${GATEWAY}`,
  middleware: [noStore, emptyBodyIsEmptyMessage] as const,
  request: jsonBody(LoginUserRequest),
  responses: {
    200: {
      ...json(LoginUserResponse, "The session's tokens and the user"),
      headers: NO_STORE_HEADER,
    },
    ...problems(...BODY_PROBLEMS, 401, 429),
  },
});

export const updateUser = createRoute({
  method: "patch",
  path: "/v1/update_user",
  operationId: "gatewayUpdateUser",
  tags,
  summary: "Change a user's name, email or password (the original's UpdateUser)",
  description: `\`PATCH /users/{username}\` with the username in the body: a depositor may update only themself, a banker anyone. ${GATEWAY}`,
  security: [{ bearerAuth: [] }],
  middleware: [requireAuth, emptyBodyIsEmptyMessage] as const,
  request: jsonBody(UpdateUserRequest),
  responses: {
    200: json(UpdateUserResponse, "The updated user"),
    ...problems(...BODY_PROBLEMS, ...AUTH_PROBLEMS, 403, 404, 409),
  },
});

export const verifyEmail = createRoute({
  method: "get",
  path: "/v1/verify_email",
  operationId: "gatewayVerifyEmail",
  tags,
  summary: "Follow a verification link (the original's VerifyEmail)",
  description: `\`GET /verify_email\`: the link's \`email_id\` and \`secret_code\` (or \`emailId\`, \`secretCode\`); a wrong, unknown, used or expired link is 422 \`verification_failed\`. ${GATEWAY}`,
  request: { query: VerifyEmailRequest },
  responses: {
    200: json(VerifyEmailResponse, "The address is verified"),
    ...problems(400, 422),
  },
});
