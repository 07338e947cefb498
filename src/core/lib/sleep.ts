/** Resolves after `ms` milliseconds (setTimeout: every runtime has it). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
