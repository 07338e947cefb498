import type { LoginResult, User } from "../../../domain/types.ts";
import { loginJson, userJson } from "../../presenters.ts";
import { protoJson } from "./gateway.protojson.ts";

/**
 * Domain objects → the original gateway's JSON: the REST presenters' values (snake_case,
 * RFC 3339 UTC timestamps) in the proto's messages and field order, zero values left out.
 */

/** `pb.User`: the original's five fields, then role (6) and is_email_verified (7). */
function gatewayUserJson(user: User) {
  const json = userJson(user);
  return protoJson({
    username: json.username,
    full_name: json.full_name,
    email: json.email,
    password_changed_at: json.password_changed_at,
    created_at: json.created_at,
    role: json.role,
    is_email_verified: json.is_email_verified,
  });
}

/** `CreateUserResponse` and `UpdateUserResponse`. */
export function userResponseJson(user: User) {
  return { user: gatewayUserJson(user) };
}

/** `LoginUserResponse`. */
export function loginUserResponseJson(result: LoginResult) {
  const json = loginJson(result);
  return protoJson({
    user: gatewayUserJson(result.user),
    session_id: json.session_id,
    access_token: json.access_token,
    refresh_token: json.refresh_token,
    access_token_expires_at: json.access_token_expires_at,
    refresh_token_expires_at: json.refresh_token_expires_at,
  });
}

/** `VerifyEmailResponse`: only ever true (a failed verification is an error). */
export function verifyEmailResponseJson(result: { isVerified: true }) {
  return protoJson({ is_verified: result.isVerified });
}
