import { z } from "@hono/zod-openapi";
import {
  CreateUserBody,
  LoginResultSchema,
  UpdateUserBody,
  UserSchema,
  VerifyEmailQuery,
} from "../../openapi/schemas.ts";
import { protoRequest } from "./gateway.protojson.ts";

/**
 * The gateway routes' messages, named after the proto's (`pb.User`, `pb.CreateUserRequest`…):
 * the original's JSON, built from the REST schemas' fields so the rules and their wording are
 * the same. Requests take each field by either spelling and ignore unknown ones; responses
 * leave out zero values (gateway.protojson.ts).
 */

const REQUEST =
  "protojson, as the original's gateway read it: each field by its proto name (`full_name`) or its lowerCamel JSON name (`fullName`), never both; `null` counts as absent; unknown body fields are ignored (unknown query parameters are 400, as on every route). An empty body is an empty message. Errors name fields by their proto names.";

const RESPONSE =
  "protojson, as the original's gateway wrote it: proto field names, and a field holding its zero value (empty string, `false`, 0) is left out.";

const { username, password, full_name, email } = CreateUserBody.shape;

export const CreateUserRequest = protoRequest(
  { username, full_name, email, password },
  "body",
).openapi("pb.CreateUserRequest", { description: REQUEST });

export const UpdateUserRequest = protoRequest(
  {
    username: username.openapi({
      description:
        "Whose user: the caller's own, or anyone's for a banker (3 to 100 lowercase letters, digits or underscores)",
    }),
    full_name: UpdateUserBody.shape.full_name,
    email: UpdateUserBody.shape.email,
    password: UpdateUserBody.shape.password,
  },
  "body",
).openapi("pb.UpdateUserRequest", {
  description: `${REQUEST} Only the fields present change; at least one of \`full_name\`, \`email\`, \`password\`.`,
});

export const LoginUserRequest = protoRequest({ username, password }, "body").openapi(
  "pb.LoginUserRequest",
  { description: REQUEST },
);

export const VerifyEmailRequest = protoRequest(
  { email_id: VerifyEmailQuery.shape.email_id, secret_code: VerifyEmailQuery.shape.secret_code },
  "query",
);

const { shape: user } = UserSchema;

const GatewayUser = z
  .object({
    username: user.username,
    full_name: user.full_name,
    email: user.email,
    password_changed_at: user.password_changed_at,
    created_at: user.created_at,
    role: user.role,
    is_email_verified: z.literal(true).optional().openapi({
      description: "Present (`true`) once the address is verified; left out while it is `false`",
    }),
  })
  .openapi("pb.User", { description: RESPONSE });

export const CreateUserResponse = z
  .object({ user: GatewayUser })
  .openapi("pb.CreateUserResponse", { description: RESPONSE });

export const UpdateUserResponse = z
  .object({ user: GatewayUser })
  .openapi("pb.UpdateUserResponse", { description: RESPONSE });

const login = LoginResultSchema.shape;

export const LoginUserResponse = z
  .object({
    user: GatewayUser,
    session_id: login.session_id,
    access_token: login.access_token,
    refresh_token: login.refresh_token,
    access_token_expires_at: login.access_token_expires_at,
    refresh_token_expires_at: login.refresh_token_expires_at,
  })
  .openapi("pb.LoginUserResponse", { description: RESPONSE });

export const VerifyEmailResponse = z
  .object({ is_verified: z.literal(true) })
  .openapi("pb.VerifyEmailResponse", { description: RESPONSE });
