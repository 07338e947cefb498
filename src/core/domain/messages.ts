/**
 * The wording of type errors in field rules: "is required" when the field is missing,
 * "must be <what>" when it has the wrong type. Pass as zod's `error` option.
 */
export const expected =
  (what: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? "is required" : `must be ${what}`;
