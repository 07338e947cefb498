import { ERROR_CODES, ERROR_TABLE, type ErrorCode } from "../../domain/error-codes.ts";
import { type ProblemStatus, statusOf } from "../problem.ts";

/**
 * What each problem `code` means: shown in the OpenAPI description (rendered on /docs) and at
 * `/problems/<code>`, the URI every problem's `type` names. Derived from the table of codes
 * (src/core/domain/error-codes.ts), the status through the kind as problem+json answers it.
 */
export interface ProblemEntry {
  code: ErrorCode;
  status: ProblemStatus;
  title: string;
  meaning: string;
}

export function problemEntry(code: ErrorCode): ProblemEntry {
  const { title, meaning } = ERROR_TABLE[code];
  return { code, status: statusOf(code), title, meaning };
}

/** Every code, by status, then in the table's order. */
function problemCatalog(): ProblemEntry[] {
  return ERROR_CODES.map(problemEntry).sort((a, b) => a.status - b.status);
}

export function problemCatalogMarkdown(): string {
  const rows = problemCatalog().map(
    ({ status, code, meaning }) => `| ${status} | \`${code}\` | ${meaning} |`,
  );
  return ["| status | code | meaning |", "|---|---|---|", ...rows].join("\n");
}
