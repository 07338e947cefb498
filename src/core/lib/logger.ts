export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose every line carries `bindings` (request id, job id, …). */
  child(bindings: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level: LogLevel;
  /** One JSON object per line (production) or a readable line (development). */
  format: "json" | "pretty";
  /** Where lines go; default `console.log` (stdout on Bun, the Workers log on the edge). */
  write?: (line: string) => void;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

export function createLogger(options: LoggerOptions, bindings: LogFields = {}): Logger {
  const write = options.write ?? ((line: string) => console.log(line));
  const threshold = RANK[options.level];

  const log = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (RANK[level] < threshold) return;
    const record: LogFields = { time: new Date().toISOString(), level, msg: message };
    for (const [key, value] of Object.entries({ ...bindings, ...fields })) {
      record[key] = serialise(value);
    }
    if (options.format === "json") {
      write(JSON.stringify(record));
      return;
    }
    const { time, level: _level, msg, ...rest } = record;
    const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
    write(`${String(time).slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}${extra}`);
  };

  return {
    debug: (m, f) => log("debug", m, f),
    info: (m, f) => log("info", m, f),
    warn: (m, f) => log("warn", m, f),
    error: (m, f) => log("error", m, f),
    child: (more) => createLogger(options, { ...bindings, ...more }),
  };
}

/** The logger a configuration asks for: JSON lines in production, readable lines otherwise. */
export function loggerFor(config: { logLevel: LogLevel; nodeEnv: string }): Logger {
  return createLogger({
    level: config.logLevel,
    format: config.nodeEnv === "production" ? "json" : "pretty",
  });
}

/** Discards everything; for tests that do not inspect logs. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
