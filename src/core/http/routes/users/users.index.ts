import { createRouter } from "../../create-router.ts";
import * as handlers from "./users.handlers.ts";
import * as routes from "./users.routes.ts";

export const usersRouter = createRouter()
  .openapi(routes.createUser, handlers.createUser)
  .openapi(routes.getMe, handlers.getMe)
  .openapi(routes.requestPasswordReset, handlers.requestPasswordReset)
  .openapi(routes.confirmPasswordReset, handlers.confirmPasswordReset)
  .openapi(routes.resendVerification, handlers.resendVerification)
  .openapi(routes.updateUser, handlers.updateUser)
  .openapi(routes.verifyEmail, handlers.verifyEmail);
