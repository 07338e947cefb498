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
