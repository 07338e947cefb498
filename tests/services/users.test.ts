import { beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { users } from "../../src/core/db/schema.ts";
import type { Role } from "../../src/core/domain/types.ts";
import { grantRole } from "../../src/core/services/users.ts";
import type { TestContext } from "../support/database.ts";
import { testDatabase } from "../support/database.ts";
import { createUser, errorCode, uniqueName } from "../support/fixtures.ts";

/**
 * grantRole, the operator's service (`bun run cli grant-role`, tests/runtime/cli.test.ts runs
 * the command itself): on the real database, called as the CLI calls it.
 */

let deps: TestContext;
beforeAll(async () => {
  deps = (await testDatabase()).deps;
});

async function roleOf(username: string): Promise<string | undefined> {
  const [row] = await deps.db
    .select({ role: users.role })
    .from(users)
    .where(eq(users.username, username));
  return row?.role;
}

describe("grantRole", () => {
  test("makes a depositor a banker and back, and returns the user with the new role", async () => {
    const { username } = await createUser(deps);
    expect((await grantRole(deps, username, "banker")).role).toBe("banker");
    expect(await roleOf(username)).toBe("banker");
    expect((await grantRole(deps, username, "depositor")).role).toBe("depositor");
    expect(await roleOf(username)).toBe("depositor");
  });

  test("a role that does not exist: validation_failed on role, and the user keeps theirs", async () => {
    const { username } = await createUser(deps);
    for (const role of ["admin", "Banker", ""]) {
      expect(await errorCode(grantRole(deps, username, role as Role))).toBe("validation_failed");
    }
    expect(await roleOf(username)).toBe("depositor");
  });

  test("an unknown user: not_found; an invalid username: validation_failed; the system user: forbidden", async () => {
    expect(await errorCode(grantRole(deps, uniqueName("ghost"), "banker"))).toBe("not_found");
    expect(await errorCode(grantRole(deps, "bank", "banker"))).toBe("forbidden");
    expect(await roleOf("bank")).toBe("depositor");
    expect(await errorCode(grantRole(deps, "not a name!", "banker"))).toBe("validation_failed");
  });
});
