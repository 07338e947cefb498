import { createRouter } from "../../create-router.ts";
import * as handlers from "./sessions.handlers.ts";
import * as routes from "./sessions.routes.ts";

export const sessionsRouter = createRouter()
  .openapi(routes.login, handlers.login)
  .openapi(routes.renewAccessToken, handlers.renewAccessToken)
  .openapi(routes.logout, handlers.logout)
  .openapi(routes.listSessions, handlers.listSessions)
  .openapi(routes.endSession, handlers.endSession);
