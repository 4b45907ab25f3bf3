/**
 * Run by killed-retention.test.ts in a child process: one retention pass of the agreement
 * KILL_AGREEMENT over the store at KILL_SQLITE_PATH, SIGKILLed as soon as the log holds its first
 * `retention-delete` entry — after the log was written, before the deletion committed: a crash
 * no catch, finally block or rollback handler sees (the host recycled, the instance ran out of
 * memory). Exits 3 should the pass finish instead.
 */
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog, type AccessLogRecord } from '../../../shared/audit/access-log.js';
import { createLogger } from '../../../shared/logging.js';
import { enforceRetention, RETENTION_ACTION } from '../../../shared/retention/enforce-retention.js';
import { openStore } from '../../../shared/store/database.js';

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

class KilledAfterFirstDeletionEntry extends AccessLog {
  override async append(record: AccessLogRecord) {
    const entry = await super.append(record);
    if (record.action === RETENTION_ACTION) process.kill(process.pid, 'SIGKILL');
    return entry;
  }
}

const store = openStore({ engine: 'sqlite', path: env('KILL_SQLITE_PATH') });
const logger = createLogger('error');
const summaries = await enforceRetention(
  {
    store,
    agreements: loadAgreements(env('KILL_AGREEMENTS_DIR')),
    accessLog: new KilledAfterFirstDeletionEntry(store, logger),
    logger,
  },
  env('KILL_AGREEMENT'),
);
process.stderr.write(`${JSON.stringify(summaries)}\n`);
process.exit(3);
