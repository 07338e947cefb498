import { createRouter } from "../../create-router.ts";
import * as handlers from "./gateway.handlers.ts";
import * as routes from "./gateway.routes.ts";

/** The original's grpc-gateway routes (`/v1/...`): gateway.routes.ts. */
export const gatewayRouter = createRouter()
  .openapi(routes.createUser, handlers.createUser)
  .openapi(routes.loginUser, handlers.loginUser)
  .openapi(routes.updateUser, handlers.updateUser)
  .openapi(routes.verifyEmail, handlers.verifyEmail);
