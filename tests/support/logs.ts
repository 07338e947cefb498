import { createLogger, type Logger, type LogLevel } from "../../src/core/lib/logger.ts";

/**
 * The tests' one log capture: a real logger (JSON lines) whose lines are kept, parsed, for the
 * test to read.
 */

export type LogLine = Record<string, unknown> & { level: string; msg: string };

export interface LogCapture {
  logger: Logger;
  /** Every line logged, oldest first. */
  lines: LogLine[];
  /** The lines that carry `job_id` = `jobId`. */
  forJob(jobId: string): LogLine[];
}

/** Keeps every line at `level` (debug by default) or above. */
export function captureLogs({ level = "debug" }: { level?: LogLevel } = {}): LogCapture {
  const lines: LogLine[] = [];
  const logger = createLogger({
    level,
    format: "json",
    write: (line) => lines.push(JSON.parse(line) as LogLine),
  });
  return { logger, lines, forJob: (jobId) => lines.filter((line) => line.job_id === jobId) };
}
