import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import AccountsPage from "./pages/AccountsPage.vue";
import BankerPage from "./pages/BankerPage.vue";
import ForgotPasswordPage from "./pages/ForgotPasswordPage.vue";
import LoginPage from "./pages/LoginPage.vue";
import PayPage from "./pages/PayPage.vue";
import ResetPasswordPage from "./pages/ResetPasswordPage.vue";
import SessionsPage from "./pages/SessionsPage.vue";
import SignupPage from "./pages/SignupPage.vue";
import StatementPage from "./pages/StatementPage.vue";
import VerifyEmailPage from "./pages/VerifyEmailPage.vue";
import { PAGES } from "./paths.ts";
import { session } from "./session.ts";

const routes: RouteRecordRaw[] = [
  { path: PAGES.home, redirect: () => (session.user ? PAGES.accounts : PAGES.login) },
  { path: PAGES.login, component: LoginPage, meta: { title: "Log in" } },
  { path: PAGES.signup, component: SignupPage, meta: { title: "Sign up" } },
  { path: PAGES.verifyEmail, component: VerifyEmailPage, meta: { title: "Verify your email" } },
  { path: PAGES.forgotPassword, component: ForgotPasswordPage, meta: { title: "Forgot password" } },
  { path: PAGES.resetPassword, component: ResetPasswordPage, meta: { title: "Reset password" } },
  { path: PAGES.accounts, component: AccountsPage, meta: { title: "Accounts", auth: true } },
  { path: PAGES.statement, component: StatementPage, meta: { title: "Statement", auth: true } },
  { path: PAGES.pay, component: PayPage, meta: { title: "Pay someone", auth: true } },
  { path: PAGES.sessions, component: SessionsPage, meta: { title: "Sessions", auth: true } },
  { path: PAGES.banker, component: BankerPage, meta: { title: "Banker", auth: true } },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach((to) => {
  if (to.meta.auth && !session.user) return { path: PAGES.login, query: { next: to.fullPath } };
  return true;
});

router.afterEach((to) => {
  document.title = `${String(to.meta.title ?? "Console")} · Simple Bank`;
});
