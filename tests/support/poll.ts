/**
 * The tests' one poller: waiting for a condition by polling it (never a fixed sleep).
 */

export interface PollOptions {
  /** Gives up after this long (20 s by default). */
  timeoutMs?: number;
  /** The pause between two looks (50 ms by default). */
  intervalMs?: number;
  /**
   * A throw from `condition` counts as "not yet", and the last one is the timeout error's
   * `cause` (for conditions that may fail while the thing is still on its way). By default a
   * throw rejects at once: an assertion inside `condition` fails the test as it would outside.
   */
  retryOnThrow?: boolean;
}

/**
 * Calls `condition` every `intervalMs` until it returns a truthy value, and resolves to that
 * value: a boolean for "until this holds", the thing itself for "until this is there". After
 * `timeoutMs` it rejects with "timed out after N ms waiting for `what`".
 */
export async function poll<T>(
  what: string,
  condition: () => T | Promise<T>,
  { timeoutMs = 20_000, intervalMs = 50, retryOnThrow = false }: PollOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await condition();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      if (!retryOnThrow) throw error;
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}`,
        last === undefined ? undefined : { cause: last },
      );
    }
    await Bun.sleep(intervalMs);
  }
}
