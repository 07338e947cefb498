import { createRouter } from "../../create-router.ts";
import * as handlers from "./accounts.handlers.ts";
import * as routes from "./accounts.routes.ts";

export const accountsRouter = createRouter()
  .openapi(routes.createAccount, handlers.createAccount)
  .openapi(routes.listAccounts, handlers.listAccounts)
  .openapi(routes.getAccount, handlers.getAccount)
  .openapi(routes.listEntries, handlers.listEntries);
