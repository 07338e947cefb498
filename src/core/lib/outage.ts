import type { LogFields, Logger } from "./logger.ts";

/**
 * The log of a dependency's outages (the database, Redis): an outage is an expected, handled
 * condition (503s with Retry-After, or a fallback), so it is logged as ONE warning when the
 * dependency goes down and one line when it is back, with the reason and never a stack; the
 * failures in between are counted, not logged. Every transport and the job queue of a process
 * report to the same log, so one outage is one warning whoever noticed it first.
 */
export interface OutageLog {
  /**
   * A call failed because the dependency is unavailable. Logs only the first of an outage
   * (with `fields`, e.g. what was being done).
   */
  down(error: unknown, fields?: LogFields): void;
  /** The dependency answered. Logs the end of an outage, if one was under way. */
  up(): void;
  isDown(): boolean;
}

/** `code: message` of the innermost error that has one, without any stack. */
export function errorSummary(error: unknown): string {
  let summary = error instanceof Error ? error.message : String(error);
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (e.message) summary = typeof code === "string" ? `${code}: ${e.message}` : e.message;
    e = (e as { cause?: unknown }).cause;
  }
  return summary;
}

export function createOutageLog(options: {
  logger: Logger;
  /** What is down, as a sentence's subject: "the database", "Redis". */
  subject: string;
  /** What the service does meanwhile: "requests that need it answer 503". */
  meanwhile: string;
  /**
   * Asked every `probeIntervalMs` during an outage (timers that do not keep the process alive);
   * its first success ends the outage. Without one, only `up()` does.
   */
  probe?: () => Promise<unknown>;
  probeIntervalMs?: number;
  now?: () => number;
}): OutageLog {
  const { logger, subject } = options;
  const now = options.now ?? Date.now;
  const interval = options.probeIntervalMs ?? 1_000;
  let since: number | undefined;
  let failures = 0;

  const up = () => {
    if (since === undefined) return;
    const seconds = Math.round((now() - since) / 100) / 10;
    logger.info(`${subject} is available again after ${seconds} s`, {
      outage_seconds: seconds,
      failures,
    });
    since = undefined;
    failures = 0;
  };

  const probeLater = () => {
    const probe = options.probe;
    if (!probe) return;
    const timer = setTimeout(() => {
      if (since === undefined) return;
      probe().then(
        () => up(),
        () => probeLater(),
      );
    }, interval);
    (timer as { unref?: () => void }).unref?.();
  };

  return {
    down(error, fields = {}) {
      failures++;
      if (since !== undefined) return;
      since = now();
      const reason = errorSummary(error);
      logger.warn(`${subject} is unavailable (${reason}): ${options.meanwhile}`, {
        ...fields,
        reason,
      });
      probeLater();
    },
    up,
    isDown: () => since !== undefined,
  };
}
