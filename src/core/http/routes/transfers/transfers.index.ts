import { createRouter } from "../../create-router.ts";
import * as handlers from "./transfers.handlers.ts";
import * as routes from "./transfers.routes.ts";

export const transfersRouter = createRouter()
  .openapi(routes.createTransfer, handlers.createTransfer)
  .openapi(routes.listTransfers, handlers.listTransfers)
  .openapi(routes.getTransfer, handlers.getTransfer);
