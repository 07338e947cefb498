import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sql as dsql, eq } from "drizzle-orm";
import postgres from "postgres";
import { users } from "../../src/core/db/schema.ts";
import { createApp } from "../../src/core/http/app.ts";
import { type JobQueue, noJobs } from "../../src/core/services/jobs.ts";
import { call, expectProblem, signUp, testHttpDeps } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { callOn, jobTable } from "../support/jobs.ts";

/**
 * The verification job is enqueued in the SAME transaction as the change that asks for it
 * (contract: POST /users, PATCH /users/{username}, POST /users/resend_verification): pg-boss
 * on the run's database, read back with SQL from its `pgboss` schema. No worker runs here, so
 * the jobs stay queued.
 */

let sql: postgres.Sql;
let table: ReturnType<typeof jobTable>;

beforeAll(async () => {
  sql = postgres((await testDatabase()).url, { max: 2, onnotice: () => {} });
  table = jobTable(sql);
});

afterAll(async () => {
  await sql.end();
});

function newUser(overrides: Record<string, string> = {}) {
  const username = uniqueName("eq");
  return {
    username,
    password: `pw-${crypto.randomUUID()}`,
    full_name: "Enqueue Test",
    email: `${username}@example.com`,
    ...overrides,
  };
}

async function userExists(username: string): Promise<boolean> {
  const { db } = (await testDatabase()).handle;
  return (await db.select().from(users).where(eq(users.username, username))).length === 1;
}

describe("POST /users enqueues send_verify_email in its transaction", () => {
  test("right after the 201 the job exists, with {username} as its payload", async () => {
    const body = newUser();
    const res = await call("POST", "/users", { body });
    expect(res.status).toBe(201);
    const jobs = await table.forUser(body.username);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]?.data).toEqual({ username: body.username });
    expect(["created", "active", "completed", "retry"]).toContain(jobs[0]?.state ?? "");
  });

  test("a duplicate email (the unique index) leaves no second user and no job", async () => {
    const first = newUser();
    expect((await call("POST", "/users", { body: first })).status).toBe(201);
    const second = newUser({ email: first.email.toUpperCase() });
    expectProblem(await call("POST", "/users", { body: second }), 409, "email_taken");
    expect(await userExists(second.username)).toBe(false);
    expect(await table.forUser(second.username)).toHaveLength(0);
    expect(await table.forUser(first.username)).toHaveLength(1);
  });

  test("a failure after the job was sent rolls back the user AND the job", async () => {
    const { deps } = await testDatabase();
    // The real pg-boss queue, then a failure later in the same transaction.
    const sendsThenFails: JobQueue = {
      ...noJobs,
      async enqueueVerifyEmail(tx, job) {
        await deps.jobs.enqueueVerifyEmail(tx, job);
        const [sent] = await tx.execute<{ count: number }>(
          // Inside the transaction, the job is there...
          dsql`select count(*)::int as count from pgboss.job where data->>'username' = ${job.username}`,
        );
        if (sent?.count !== 1)
          throw new Error(`job not visible in the transaction: ${sent?.count}`);
        throw new Error("failure after the job was sent");
      },
    };
    const app = createApp(await testHttpDeps({ services: { ...deps, jobs: sendsThenFails } }));
    const body = newUser();
    expectProblem(await callOn(app, "POST", "/users", { body }), 500, "internal");
    // ...and after the rollback neither the user nor the job exists.
    expect(await userExists(body.username)).toBe(false);
    expect(await table.forUser(body.username)).toHaveLength(0);
  });

  test("concurrent sign-ups racing for emails: every committed user has exactly one job, every refused one none", async () => {
    const shared = newUser().email;
    const bodies = Array.from({ length: 12 }, (_, i) =>
      newUser(i % 3 === 0 ? { email: shared.replace("@", `+${i}@`) } : { email: shared }),
    );
    const replies = await Promise.all(bodies.map((body) => call("POST", "/users", { body })));
    for (const [i, reply] of replies.entries()) {
      const username = bodies[i]?.username ?? "";
      const jobs = await table.forUser(username);
      if (reply.status === 201) {
        expect(await userExists(username)).toBe(true);
        expect(jobs).toHaveLength(1);
      } else {
        expectProblem(reply, 409, "email_taken");
        expect(await userExists(username)).toBe(false);
        expect(jobs).toHaveLength(0);
      }
    }
    // The shared address went to exactly one of its eight contenders.
    const sharedWinners = replies.filter((reply, i) => i % 3 !== 0 && reply.status === 201);
    expect(sharedWinners).toHaveLength(1);
  });
});

describe("PATCH /users/{username} and a changed email", () => {
  test("a new address enqueues one job; the same address in other case enqueues none", async () => {
    const user = await signUp();
    expect(await table.forUser(user.username)).toHaveLength(1);

    const moved = await call("PATCH", `/users/${user.username}`, {
      token: user.accessToken,
      body: { email: `new-${user.email}` },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.is_email_verified).toBe(false);
    expect(await table.forUser(user.username)).toHaveLength(2);

    const recased = await call("PATCH", `/users/${user.username}`, {
      token: user.accessToken,
      body: { email: `NEW-${user.email}`.toUpperCase() },
    });
    expect(recased.status).toBe(200);
    expect(await table.forUser(user.username)).toHaveLength(2);

    // Another field only: no job either.
    const renamed = await call("PATCH", `/users/${user.username}`, {
      token: user.accessToken,
      body: { full_name: "Someone Else" },
    });
    expect(renamed.status).toBe(200);
    expect(await table.forUser(user.username)).toHaveLength(2);
  });

  test("a change refused by the unique index enqueues nothing", async () => {
    const [a, b] = [await signUp(), await signUp()];
    expectProblem(
      await call("PATCH", `/users/${a.username}`, {
        token: a.accessToken,
        body: { email: b.email },
      }),
      409,
      "email_taken",
    );
    expect(await table.forUser(a.username)).toHaveLength(1);
  });
});

describe("POST /users/resend_verification", () => {
  test("202 {queued: true, email} and one more job", async () => {
    const user = await signUp();
    const res = await call("POST", "/users/resend_verification", { token: user.accessToken });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ queued: true, email: user.email });
    const jobs = await table.forUser(user.username);
    expect(jobs).toHaveLength(2);
    expect(jobs.map((job) => job.data)).toEqual([
      { username: user.username },
      { username: user.username },
    ]);
  });

  test("422 already_verified for a verified address, and no job", async () => {
    const user = await signUp();
    const { db } = (await testDatabase()).handle;
    await db.update(users).set({ isEmailVerified: true }).where(eq(users.username, user.username));
    expectProblem(
      await call("POST", "/users/resend_verification", { token: user.accessToken }),
      422,
      "already_verified",
    );
    expect(await table.forUser(user.username)).toHaveLength(1);
  });

  test("401 without a token", async () => {
    expectProblem(await call("POST", "/users/resend_verification"), 401, "unauthenticated");
  });
});

test("noJobs enqueues nothing, for every kind of job", async () => {
  const tx = undefined as unknown as Parameters<JobQueue["enqueueVerifyEmail"]>[0];
  await expect(noJobs.enqueueVerifyEmail(tx, { username: "nobody" })).resolves.toBeUndefined();
  await expect(
    noJobs.enqueuePasswordReset(tx, { resetId: crypto.randomUUID() }),
  ).resolves.toBeUndefined();
});
