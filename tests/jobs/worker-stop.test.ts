import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type JobsWorld, startJobsWorld } from "../support/jobs.ts";
import { poll } from "../support/poll.ts";

/**
 * Stopping the worker (what SIGTERM does in `bun run start` and `bun run worker`): a job in
 * progress finishes and is completed, not failed and retried later.
 */

let world: JobsWorld;

beforeAll(async () => {
  world = await startJobsWorld();
});

afterAll(async () => {
  await world?.stop();
});

describe("graceful worker stop", () => {
  test("a job in progress when stop() is called finishes and is completed", async () => {
    world.capture.delayResponses(1_000); // a slow provider: the send stays in flight a second
    const user = await world.signUp();
    const request = await poll(
      "the send to reach the provider",
      () => world.capture.emails.find((email) => email.body.to?.[0] === user.email),
      { intervalMs: 100, retryOnThrow: true },
    );
    expect(request.status).toBe(0); // not answered yet: the job is in progress

    await world.jobs.stop({ timeoutMs: 10_000 });

    // stop() waited for the job: the provider answered, and pg-boss recorded the completion.
    expect(request).toMatchObject({ status: 200, delivered: true });
    const job = await world.table.byId(user.jobId);
    expect(job).toMatchObject({ state: "completed", retry_count: 0 });
    const lines = world.logs.forJob(user.jobId);
    expect(lines.map((line) => line.msg)).toEqual(["job started", "job succeeded"]);
    expect(world.capture.emails.filter((email) => email.body.to?.[0] === user.email)).toHaveLength(
      1,
    );
  }, 30_000);
});
