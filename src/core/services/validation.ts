import type { z } from "zod";
import { type FieldViolation, ValidationError } from "../domain/errors.ts";

/**
 * Checks each field against its domain rule and throws ONE ValidationError listing every
 * invalid field. Transports validate the same rules first (to document them); the services
 * check again so every transport obeys them.
 */
export function assertValid(fields: [field: string, rule: z.ZodType, value: unknown][]): void {
  const violations: FieldViolation[] = [];
  for (const [field, rule, value] of fields) {
    const result = rule.safeParse(value);
    if (!result.success) {
      violations.push({ field, message: result.error.issues[0]?.message ?? "is invalid" });
    }
  }
  if (violations.length > 0) throw new ValidationError(violations);
}
