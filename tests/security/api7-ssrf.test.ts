import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import postgres from "postgres";
import type { CapturedRequest } from "../support/email-capture.ts";
import { uniqueName } from "../support/fixtures.ts";
import {
  type BankProcess,
  openApiDocument,
  PROCESS_APP_BASE_URL,
  startBankProcess,
} from "./support.ts";

/**
 * OWASP API7:2023 Server Side Request Forgery. The server never fetches a URL a client gives
 * it: no request field or parameter takes a URL, and its only outbound calls go to hosts fixed
 * by configuration (PostgreSQL, the Redis REST endpoint, the mail provider). The one URL it
 * builds for others, the verification link in the email, comes from APP_BASE_URL, never from
 * the request: Host, X-Forwarded-Host, Forwarded and friends cannot point it at an attacker's
 * site (a spawned server and job worker, raw HTTP so the Host header is really the attacker's).
 */

const EVIL = "evil.attacker.example";
const HOST_HEADERS = {
  "X-Forwarded-Host": EVIL,
  "X-Forwarded-Proto": "http",
  "X-Forwarded-Port": "6666",
  Forwarded: `host=${EVIL};proto=http`,
  "X-Host": EVIL,
  "X-Original-URL": `http://${EVIL}/`,
  "X-Rewrite-URL": `http://${EVIL}/`,
  Origin: `http://${EVIL}`,
  Referer: `http://${EVIL}/signup`,
};

let bank: BankProcess;

beforeAll(async () => {
  bank = await startBankProcess();
}, 60_000);

afterAll(async () => {
  await bank?.stop();
});

/** One HTTP/1.1 request over a raw socket, with exactly these headers (Host included). */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? "" : JSON.stringify(body);
  const lines = [
    `${method} ${path} HTTP/1.1`,
    ...Object.entries({
      ...headers,
      Connection: "close",
      ...(payload ? { "Content-Type": "application/json" } : {}),
      "Content-Length": String(Buffer.byteLength(payload)),
    }).map(([name, value]) => `${name}: ${value}`),
    "",
    payload,
  ];
  return new Promise((resolve, reject) => {
    let reply = "";
    const socket = connect(bank.server.port, "127.0.0.1", () => socket.write(lines.join("\r\n")));
    socket.on("data", (data) => {
      reply += String(data);
    });
    socket.on("error", reject);
    socket.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(reply)?.[1] ?? 0);
      resolve({ status, body: reply.slice(reply.indexOf("\r\n\r\n") + 4) });
    });
  });
}

/** Every URL in an email's html and text. */
function urlsIn(email: CapturedRequest): string[] {
  const text = `${email.body.html ?? ""}\n${email.body.text ?? ""}`;
  return [...text.matchAll(/https?:\/\/[^\s"'<>]+/g)].map((m) => m[0].replaceAll("&amp;", "&"));
}

function expectConfiguredLinks(email: CapturedRequest, path = "/verify_email"): void {
  const urls = urlsIn(email);
  expect(urls.length).toBeGreaterThan(0);
  for (const url of urls) expect(url.startsWith(`${PROCESS_APP_BASE_URL}${path}?`)).toBe(true);
  expect(JSON.stringify(email.body)).not.toContain(EVIL);
  expect(JSON.stringify(email.body)).not.toContain("6666");
}

describe("API7: no user-supplied URL is ever fetched", () => {
  test("no documented request field or parameter takes a URL", async () => {
    const document = await openApiDocument();
    const names: string[] = [];
    const walk = (value: unknown, key = ""): void => {
      if (Array.isArray(value)) {
        for (const item of value) walk(item);
        return;
      }
      if (value === null || typeof value !== "object") return;
      const record = value as Record<string, unknown>;
      if (record.format === "uri" || record.format === "url") names.push(`${key} (format uri)`);
      for (const [name, child] of Object.entries(record)) {
        if (key === "properties" || name === "name") {
          if (
            /url|uri|callback|webhook|redirect|link|host|endpoint/i.test(
              typeof child === "string" ? child : name,
            )
          ) {
            names.push(typeof child === "string" ? child : name);
          }
        }
        walk(child, name);
      }
    };
    for (const operations of Object.values(document.paths)) {
      for (const operation of Object.values(operations)) {
        walk(operation.parameters ?? []);
        walk(operation.requestBody ?? {});
      }
    }
    const requestSchemas = Object.entries(document.components?.schemas ?? {}).filter(([name]) =>
      /Request$/.test(name),
    );
    for (const [, schema] of requestSchemas) walk(schema);
    expect(names).toEqual([]);
  });
});

describe("API7: the emailed links come from APP_BASE_URL, not from the request", () => {
  test("sign-up with an attacker's Host, X-Forwarded-Host, Forwarded…: the email links to APP_BASE_URL only", async () => {
    const username = uniqueName("ssrf");
    const password = `pw-${crypto.randomUUID()}`;
    const email = `${username}@example.com`;
    const created = await rawRequest(
      "POST",
      "/users",
      { Host: EVIL, ...HOST_HEADERS },
      { username, password, full_name: "Host Header", email },
    );
    expect(created.status).toBe(201);
    const sent = await bank.capture.waitFor((e) => e.body.to?.[0] === email && e.delivered);
    expectConfiguredLinks(sent);

    // resend_verification and an address change, with the same headers: same rule.
    const login = await rawRequest(
      "POST",
      "/users/login",
      { Host: EVIL, ...HOST_HEADERS },
      {
        username,
        password,
      },
    );
    expect(login.status).toBe(200);
    const token = (JSON.parse(login.body) as { access_token: string }).access_token;
    const auth = { Host: EVIL, ...HOST_HEADERS, Authorization: `Bearer ${token}` };
    expect((await rawRequest("POST", "/users/resend_verification", auth)).status).toBe(202);
    const resent = await bank.capture.waitFor(
      (e) => e.body.to?.[0] === email && e.delivered && e !== sent,
    );
    expectConfiguredLinks(resent);
    const newEmail = `${username}.new@example.com`;
    expect(
      (await rawRequest("PATCH", `/users/${username}`, auth, { email: newEmail })).status,
    ).toBe(200);
    const changed = await bank.capture.waitFor((e) => e.body.to?.[0] === newEmail && e.delivered);
    expectConfiguredLinks(changed);

    // A password reset, asked for with the same headers: its link too.
    const sql = postgres(bank.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await sql`update users set is_email_verified = true where username = ${username}`;
    } finally {
      await sql.end();
    }
    const reset = await rawRequest("POST", "/users/password_reset", auth, { email: newEmail });
    expect(reset.status).toBe(202);
    const resetMail = await bank.capture.waitFor(
      (e) => e.body.to?.[0] === newEmail && e.delivered && e !== changed,
    );
    expectConfiguredLinks(resetMail, "/reset_password");

    // Every request the worker made went to the configured provider, and only there.
    for (const request of bank.capture.emails) expect(request.path).toBe("/emails");
  }, 60_000);
});
