/**
 * The signed-in session. The access token lives in memory only; the refresh token in
 * sessionStorage, so a reload of this tab stays signed in while another tab, or the browser
 * after it closes, does not (trade-off: a script running in this page could read it; the
 * console loads no script but its own, under a strict Content-Security-Policy, and the API
 * rotates refresh tokens and blocks a session whose old token is replayed). The access token is
 * renewed in the background before it expires, and once on a 401.
 */
import { reactive } from "vue";
import { api, data, publicApi, useTokens } from "./api.ts";

export interface User {
  username: string;
  full_name: string;
  email: string;
  role: string;
  is_email_verified: boolean;
}

const STORAGE_KEY = "simplebank.session";

interface Stored {
  refresh_token: string;
  session_id: string;
}

export const session = reactive({
  user: null as User | null,
  accessToken: "",
  accessExpiresAt: 0,
  sessionId: "",
  /** Set when the session ended on its own (expired or revoked), for the login page to say. */
  endedReason: "",
});

let timer: ReturnType<typeof setTimeout> | undefined;
let renewing: Promise<boolean> | undefined;

function stored(): Stored | null {
  try {
    const value = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "null") as Stored | null;
    return value?.refresh_token ? value : null;
  } catch {
    return null;
  }
}

function clear(reason = ""): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  sessionStorage.removeItem(STORAGE_KEY);
  session.user = null;
  session.accessToken = "";
  session.accessExpiresAt = 0;
  session.sessionId = "";
  session.endedReason = reason;
}

interface Tokens {
  access_token: string;
  access_token_expires_at: string;
  refresh_token: string;
}

function keep(tokens: Tokens, sessionId: string): void {
  session.accessToken = tokens.access_token;
  session.accessExpiresAt = Date.parse(tokens.access_token_expires_at);
  session.sessionId = sessionId;
  sessionStorage.setItem(
    STORAGE_KEY,
    JSON.stringify({ refresh_token: tokens.refresh_token, session_id: sessionId }),
  );
  schedule();
}

/** Renews ahead of expiry: a third of the token's remaining life early, at most 30 s. */
function schedule(): void {
  if (timer) clearTimeout(timer);
  const remaining = session.accessExpiresAt - Date.now();
  const early = Math.min(30_000, Math.max(remaining / 3, 0));
  timer = setTimeout(() => void renew(), Math.max(0, remaining - early));
}

/** One renewal at a time (rotation: a second one with the same token would block the session). */
function renew(): Promise<boolean> {
  renewing ??= (async () => {
    const saved = stored();
    if (!saved) return false;
    try {
      const res = await publicApi().tokens.renew_access.$post({
        json: { refresh_token: saved.refresh_token },
      });
      if (res.status === 401) {
        clear("Your session has ended. Please log in again.");
        return false;
      }
      keep(await data(res), saved.session_id);
      return true;
    } catch {
      // The API is unreachable for now: try again shortly, keep the session.
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void renew(), 5_000);
      return false;
    }
  })().finally(() => {
    renewing = undefined;
  });
  return renewing;
}

useTokens({ accessToken: () => session.accessToken, renew });

export async function login(username: string, password: string): Promise<void> {
  const body = await data(await publicApi().users.login.$post({ json: { username, password } }));
  keep(body, body.session_id);
  session.user = body.user;
  session.endedReason = "";
}

/** After a reload: a stored refresh token gives a new access token and the user. */
export async function restore(): Promise<void> {
  if (!stored() || !(await renew())) return;
  try {
    session.user = await data(await api().users.me.$get());
  } catch {
    clear();
  }
}

/** Ends the session on the API (best effort) and forgets it here. */
export async function logout(): Promise<void> {
  try {
    await api().users.logout.$post();
  } finally {
    clear();
  }
}
