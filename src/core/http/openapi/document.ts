import { problemCatalogMarkdown } from "./problem-catalog.ts";

/** The top of /openapi.json: what the API is, how to authenticate, the problem codes. */
export function documentConfig() {
  return {
    openapi: "3.1.0",
    info: {
      title: "simplebank API",
      version: "1.0.0",
      description: [
        "Users, accounts in USD / EUR / CAD, and transfers on a double-entry ledger. Money is integer minor units (cents); customer balances never go below zero.",
        "",
        "**Authentication**: `POST /users/login` returns an access token (send it as `Authorization: Bearer <token>`) and a refresh token (trade it at `POST /tokens/renew_access`; each renewal rotates it).",
        "",
        "**Errors** are RFC 9457 problem details (`application/problem+json`) whose `type` is `/problems/<code>`:",
        "",
        problemCatalogMarkdown(),
      ].join("\n"),
    },
    tags: [
      { name: "Users", description: "Registration, profile, email verification" },
      { name: "Sessions", description: "Login, token renewal (rotation), logout" },
      { name: "Accounts", description: "Accounts and their statements" },
      { name: "Cash (bankers)", description: "Deposits and withdrawals against the treasury" },
      { name: "Transfers", description: "Moving money between accounts" },
      {
        name: "Gateway (original clients)",
        description:
          "The original simplebank's HTTP API (grpc-gateway, `/v1/...`) with its JSON, on the same services; errors are problem+json, unlike the original's",
      },
      { name: "Operations", description: "Health, readiness, problem types" },
    ],
  };
}

export const BEARER_SCHEME = {
  type: "http" as const,
  scheme: "bearer",
  bearerFormat: "PASETO v4.local (default) or JWT HS256",
  description: "The access token from POST /users/login or POST /tokens/renew_access.",
};
