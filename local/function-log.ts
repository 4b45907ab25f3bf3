import type { LogHandler } from '@azure/functions';
import type { Logger } from '../shared/logging.js';

/** Route a function's `context.log`/`warn`/`error` to the host's structured logger, as the Functions host would. */
export function functionLogHandler(logger: Logger, functionName: string, invocationId: string): LogHandler {
  return (level, ...args) =>
    logger[level === 'error' || level === 'critical' ? 'error' : level === 'warning' ? 'warn' : 'info'](
      'function.log',
      {
        functionName,
        invocationId,
        message: args.map(String).join(' '),
      },
    );
}
