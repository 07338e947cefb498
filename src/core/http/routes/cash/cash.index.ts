import { createRouter } from "../../create-router.ts";
import * as handlers from "./cash.handlers.ts";
import * as routes from "./cash.routes.ts";

export const cashRouter = createRouter()
  .openapi(routes.deposit, handlers.deposit)
  .openapi(routes.withdraw, handlers.withdraw);
