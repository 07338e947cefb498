/**
 * The console's pages. The API serves index.html at exactly these paths (and at /verify_email
 * for a browser's navigation): src/core/http/routes/console/console.index.ts keeps the same list,
 * and tests/http/console.test.ts checks that the two agree.
 */
export const PAGES = {
  home: "/",
  login: "/login",
  signup: "/signup",
  verifyEmail: "/verify_email",
  forgotPassword: "/forgot_password",
  resetPassword: "/reset_password",
  accounts: "/app/accounts",
  statement: "/app/accounts/:id(\\d+)",
  pay: "/app/pay",
  sessions: "/app/sessions",
  banker: "/app/banker",
} as const;
