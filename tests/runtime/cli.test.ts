import { describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { runMigrations } from "../../src/bun/migrate.ts";
import { openDatabase } from "../../src/core/db/client.ts";
import { users } from "../../src/core/db/schema.ts";
import { testDatabase } from "../support/database.ts";
import { PROJECT_ROOT } from "../support/process.ts";

/** `bun run cli …` as an operator runs it, against a scratch database of the run. */
async function cli(args: string[], databaseUrl: string) {
  const child = Bun.spawn(["bun", "src/cli.ts", ...args], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      DATABASE_URL: databaseUrl,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stdout, stderr] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  return { code, stdout, stderr };
}

describe("bun run cli grant-role (the only way to make a banker)", () => {
  test("grants and takes back the banker role; refuses bad input with a clear message", async () => {
    const url = await (await testDatabase()).scratchDatabase();
    const handle = openDatabase({ url, poolMax: 2 });
    try {
      await runMigrations(handle);
      await handle.db.insert(users).values({
        username: "operator_target",
        hashedPassword: "!",
        fullName: "Target",
        email: "target@example.com",
      });
      const role = async () =>
        (
          await handle.db
            .select({ role: users.role })
            .from(users)
            .where(eq(users.username, "operator_target"))
        )[0]?.role;

      const granted = await cli(["grant-role", "operator_target", "banker"], url);
      expect(granted.code).toBe(0);
      expect(granted.stdout).toContain("operator_target is now a banker");
      expect(await role()).toBe("banker");

      expect((await cli(["grant-role", "operator_target", "depositor"], url)).code).toBe(0);
      expect(await role()).toBe("depositor");

      const badRole = await cli(["grant-role", "operator_target", "admin"], url);
      expect(badRole.code).toBe(1);
      expect(badRole.stderr).toContain("role must be one of depositor, banker");

      const unknown = await cli(["grant-role", "nobody_here", "banker"], url);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain("user not found");

      const system = await cli(["grant-role", "bank", "banker"], url);
      expect(system.code).toBe(1);
      expect(system.stderr).toContain("system user");

      const usage = await cli(["grant-role", "operator_target"], url);
      expect(usage.code).toBe(2);
      expect(usage.stderr).toContain("usage: bun run cli");
      expect(await role()).toBe("depositor");
    } finally {
      await handle.close();
    }
  }, 60_000);

  test("an unknown command prints the usage and exits 2", async () => {
    const url = await (await testDatabase()).scratchDatabase();
    const result = await cli(["make-me-rich"], url);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command: make-me-rich");
  });
});
