/**
 * Run by import-semantics.test.ts in a child process: imports one blob and SIGKILLs itself when
 * the import reaches row KILL_AT_ROW — a crash no finally block or rollback handler sees. Rows
 * are prepared on a worker thread when the file has at least KILL_ROW_WORKER_MIN_BYTES bytes.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { importExtract } from '../../../shared/imports/import-extract.js';
import { createLogger } from '../../../shared/logging.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import { openStore } from '../../../shared/store/database.js';

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const store = openStore({ engine: 'sqlite', path: env('KILL_SQLITE_PATH') });
const logger = createLogger('error');
const killAt = Number(env('KILL_AT_ROW'));
const blobName = env('KILL_BLOB_NAME');
const [partyId = '', datasetId = '', fileName = ''] = blobName.split('/');
await importExtract(
  {
    store,
    blobs: BlobServiceClient.fromConnectionString(env('KILL_AZURITE')),
    agreements: loadAgreements(env('KILL_AGREEMENTS_DIR')),
    secrets: new LocalSecretSource(env('KILL_SECRETS_PATH')),
    logger,
    accessLog: new AccessLog(store, logger),
    maxBadRowShare: 0.05,
    containers: JSON.parse(env('KILL_CONTAINERS')) as { incoming: string; processed: string; rejected: string },
    rowWorkerMinBytes: Number(env('KILL_ROW_WORKER_MIN_BYTES')),
    hooks: {
      onRow: (row) => {
        if (row === killAt) process.kill(process.pid, 'SIGKILL');
      },
    },
  },
  { blobName, partyId, datasetId, fileName },
);
// Reaching here means the kill row was never reached.
process.exit(3);
