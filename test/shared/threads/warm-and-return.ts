/**
 * For warm-threads.test.ts: starts every thread a host warms (an access log's writer, a spare
 * row worker, an echo RequestWorker) and returns. The process must then end by itself: an idle
 * warmed thread keeps nobody alive, or every CLI would hang.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { warmRowWorker } from '../../../shared/imports/row-worker-client.js';
import { createLogger } from '../../../shared/logging.js';
import { migrateToLatest, openStore } from '../../../shared/store/database.js';
import { RequestWorker } from '../../../shared/threads/request-worker.js';

const store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-warm-')), 'store.db') });
await migrateToLatest(store);
new AccessLog(store, createLogger('error')).warm();
warmRowWorker();
const echo = new RequestWorker<string, string>(new URL('./echo-thread.ts', import.meta.url), {}, 'echo');
echo.warm();
await new Promise((resolve) => setTimeout(resolve, 500));
process.stdout.write('warmed\n');
