/**
 * Structured logging. Callers pass ids, counts, codes and hashes only: the logger has no way to
 * know what is personal data, so the discipline is in what the call sites hand it. Values that
 * look like identifiers or free text are not redacted here on purpose — a redactor would make
 * leaking them look safe.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, string | number | boolean | null | undefined | readonly string[]>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  minimum: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
): Logger {
  const emit = (level: LogLevel, event: string, fields: LogFields = {}) => {
    if (ORDER[level] < ORDER[minimum]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
  };
}

/** An error's class name only: messages from drivers can carry SQL parameters or blob names. */
export function errorKind(err: unknown): string {
  if (err instanceof Error) return errorCodeOf(err) ? `${err.name}:${String(errorCodeOf(err))}` : err.name;
  return typeof err;
}

/** An error's `code` (a Node system error's `ENOENT`, a driver's), whatever was thrown. */
export function errorCodeOf(err: unknown): unknown {
  return (err as { code?: unknown } | null | undefined)?.code;
}
