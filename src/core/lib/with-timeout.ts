/** Rejects with `message` when `promise` has not settled within `ms`; never leaves a timer. */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  message = "timed out",
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Rejects with `message` once `signal` aborts, if `promise` has not settled by then: for work
 * that cannot be cancelled itself (the promise keeps running; its result is dropped).
 */
export async function untilAborted<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  message = "aborted",
): Promise<T> {
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        onAbort = () => reject(new Error(message, { cause: signal.reason }));
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }),
    ]);
  } finally {
    if (onAbort) signal.removeEventListener("abort", onAbort);
  }
}
