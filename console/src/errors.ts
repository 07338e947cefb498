import { ApiError, NetworkError } from "./api.ts";

/** The sentence to show for a failure: the problem's `detail`, or why the API is unreachable. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError || error instanceof NetworkError) return error.message;
  return "Something went wrong. Please try again.";
}

/** The message of one field's error, if the failure was a validation of that field. */
export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiError ? error.fields[field] : undefined;
}
