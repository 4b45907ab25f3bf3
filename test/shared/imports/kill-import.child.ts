/**
 * Run by import-semantics.test.ts in a child process: imports one blob and SIGKILLs itself when
 * the import reaches row KILL_AT_ROW — a crash no finally block or rollback handler sees. Rows
 * are prepared on a worker thread when the file has at least KILL_ROW_WORKER_MIN_BYTES bytes.
 *
 * Just before the kill it writes one line of JSON to stdout ({@link KillObservation}): what the
 * load's own connection saw at that moment, inside its open transaction — so the test can show
 * the kill landed in a partly written load (rows of the new snapshot already inserted, the
 * previous snapshot already deleted, secondary indexes already dropped), not before the first
 * write.
 */
import { writeSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { importExtract } from '../../../shared/imports/import-extract.js';
import { createLogger } from '../../../shared/logging.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import { openStore } from '../../../shared/store/database.js';
import type { KillObservation } from './kill-observation.js';

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const store = openStore({ engine: 'sqlite', path: env('KILL_SQLITE_PATH') });
const sqlite = store.sqlite!;
const logger = createLogger('error');
const killAt = Number(env('KILL_AT_ROW'));
const blobName = env('KILL_BLOB_NAME');
const [partyId = '', datasetId = '', fileName = ''] = blobName.split('/');

/** What the load's connection sees now (synchronous: better-sqlite3, the load's own connection). */
function observe(row: number): KillObservation {
  const count = (query: string) => (sqlite.prepare(query).get(partyId, datasetId) as { n: number }).n;
  return {
    row,
    inTransaction: sqlite.inTransaction,
    records: count('select count(*) as n from source_record where party_id = ? and dataset_id = ?'),
    identifiers: count(
      `select count(*) as n from record_identifier where record_id in
        (select id from source_record where party_id = ? and dataset_id = ?)`,
    ),
    indexes: sqlite
      .prepare(
        `select name, tbl_name as "table", sql from sqlite_master
         where type = 'index' and tbl_name in ('source_record', 'record_identifier') order by name`,
      )
      .all() as KillObservation['indexes'],
  };
}

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
        if (row !== killAt) return;
        writeSync(1, JSON.stringify(observe(row)) + '\n');
        process.kill(process.pid, 'SIGKILL');
      },
    },
  },
  { blobName, partyId, datasetId, fileName },
);
// Reaching here means the kill row was never reached.
process.exit(3);
