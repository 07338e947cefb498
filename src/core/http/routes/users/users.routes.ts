import { createRoute } from "@hono/zod-openapi";
import { requireAuth, requireAuthFor } from "../../middleware/require-auth.ts";
import { AUTH_PROBLEMS, BODY_PROBLEMS, json, jsonBody, problems } from "../../openapi/responses.ts";
import {
  ConfirmPasswordResetBody,
  CreateUserBody,
  PasswordResetBody,
  ResendVerificationResultSchema,
  UpdateUserBody,
  UsernameParams,
  UserSchema,
  VerifyEmailQuery,
  VerifyEmailResultSchema,
} from "../../openapi/schemas.ts";

const tags = ["Users"];
const security = [{ bearerAuth: [] }];

export const createUser = createRoute({
  method: "post",
  path: "/users",
  operationId: "createUser",
  tags,
  summary: "Register a user",
  description:
    "Creates a depositor and, in the same transaction, enqueues the email that verifies their address.",
  request: jsonBody(CreateUserBody),
  responses: {
    201: json(UserSchema, "The new user"),
    ...problems(...BODY_PROBLEMS, 409, 429),
  },
});

export const resendVerification = createRoute({
  method: "post",
  path: "/users/resend_verification",
  operationId: "resendVerification",
  tags,
  summary: "Send the verification email again",
  description:
    "Queues a new verification email to the caller's current address. Rate limited per user; 422 `already_verified` when the address is verified.",
  security,
  middleware: requireAuthFor("resend_verification"),
  responses: {
    202: json(ResendVerificationResultSchema, "The email is queued"),
    ...problems(...AUTH_PROBLEMS, 422, 429),
  },
});

export const getMe = createRoute({
  method: "get",
  path: "/users/me",
  operationId: "getCurrentUser",
  tags,
  summary: "The caller's own user",
  security,
  middleware: requireAuth,
  responses: {
    200: json(UserSchema, "The caller"),
    ...problems(...AUTH_PROBLEMS),
  },
});

export const updateUser = createRoute({
  method: "patch",
  path: "/users/{username}",
  operationId: "updateUser",
  tags,
  summary: "Change a user's name, email or password",
  description:
    "Only the fields present change. A depositor may update only themself; a banker anyone. A new password revokes the user's other sessions; a new email resets `is_email_verified` and sends a new verification email.",
  security,
  middleware: requireAuth,
  request: { params: UsernameParams, ...jsonBody(UpdateUserBody) },
  responses: {
    200: json(UserSchema, "The updated user"),
    ...problems(...BODY_PROBLEMS, ...AUTH_PROBLEMS, 403, 404, 409),
  },
});

export const verifyEmail = createRoute({
  method: "get",
  path: "/verify_email",
  operationId: "verifyEmail",
  tags,
  summary: "Follow the link of a verification email",
  description:
    "A wrong code, unknown id, used or expired (15 min) link answers 422 `verification_failed`.",
  request: { query: VerifyEmailQuery },
  responses: {
    200: json(VerifyEmailResultSchema, "The address is verified"),
    ...problems(400, 422),
  },
});

export const requestPasswordReset = createRoute({
  method: "post",
  path: "/users/password_reset",
  operationId: "requestPasswordReset",
  tags,
  summary: "Ask for a password reset link",
  description:
    "Always 202, whatever the address: nothing tells whether it is anyone's. When it is a verified user's, a job emails the link `APP_BASE_URL/reset_password?reset_id=…&secret_code=…` (single use, 15 minutes; a newer request replaces it). Rate limited per client IP and per address.",
  request: jsonBody(PasswordResetBody),
  responses: {
    202: { description: "Accepted: if the address is a verified user's, the link is on its way" },
    ...problems(...BODY_PROBLEMS, 429),
  },
});

export const confirmPasswordReset = createRoute({
  method: "post",
  path: "/users/password_reset/confirm",
  operationId: "confirmPasswordReset",
  tags,
  summary: "Set a new password with a reset link",
  description:
    "Sets the password (the same rules as registration) and `password_changed_at`, and ends every session of the user (refresh and access tokens alike). A wrong code, unknown id, used, replaced or expired (15 min) link answers 422 `verification_failed`.",
  request: jsonBody(ConfirmPasswordResetBody),
  responses: {
    204: { description: "The new password is set; every session of the user has ended" },
    ...problems(...BODY_PROBLEMS, 422),
  },
});
