/**
 * Run by killImportAtPhase (kill-at-phase.ts) in a child process: imports one blob and SIGKILLs itself
 * when the import ends the phase KILL_AT_PHASE (import-phases.ts) for the first time — a crash no
 * finally block or rollback handler sees. With KILL_STALL_FIFO set (stallImportAtPhase), it stalls
 * there instead, the whole process stopped as by a long pause, until a line comes through that
 * FIFO: then it carries on and prints its outcome. `report` ends inside the load's transaction, after the
 * kept keys, the opt-out copies and the carried person ids are written and the report staged
 * (in a rejection, once its report is staged in rejected/ and before the run is finished);
 * `commit` ends just after the commit (in a rejection, once the run is finished), before the report
 * is published, the access-log entry written and the blob moved. With KILL_PROGRESS set, the import writes its progress blob in the
 * processed container, as the host's does.
 */
import { openSync, readSync, writeSync } from 'node:fs';
import { BlobServiceClient } from '@azure/storage-blob';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { importExtract } from '../../../shared/imports/import-extract.js';
import { PhaseClock, type ImportPhase } from '../../../shared/imports/import-phases.js';
import { blobProgressSink } from '../../../shared/imports/import-progress.js';
import { createLogger } from '../../../shared/logging.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import { openStore } from '../../../shared/store/database.js';

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const killAt = env('KILL_AT_PHASE') as ImportPhase;
const stallFifo = process.env.KILL_STALL_FIFO ?? '';
const stall = stallFifo !== '';
let stalled = false;
const store = openStore({ engine: 'sqlite', path: env('KILL_SQLITE_PATH') });
const logger = createLogger('error');
const blobName = env('KILL_BLOB_NAME');
const [partyId = '', datasetId = '', fileName = ''] = blobName.split('/');

class KillingClock extends PhaseClock {
  override lap(phase: ImportPhase): void {
    if (phase === killAt && stall && !stalled) {
      stalled = true;
      // Synchronous, as a pause is: nothing of this process runs until the parent writes a line.
      writeSync(1, 'stalled\n');
      // Opening the FIFO waits for the parent to open it to write, the read for its line.
      readSync(openSync(stallFifo, 'r'), Buffer.alloc(1));
    } else if (phase === killAt && !stall) process.kill(process.pid, 'SIGKILL');
    super.lap(phase);
  }
}

const blobs = BlobServiceClient.fromConnectionString(env('KILL_AZURITE'));
const containers = JSON.parse(env('KILL_CONTAINERS')) as { incoming: string; processed: string; rejected: string };

const outcome = await importExtract(
  {
    store,
    blobs,
    agreements: loadAgreements(env('KILL_AGREEMENTS_DIR')),
    secrets: new LocalSecretSource(env('KILL_SECRETS_PATH')),
    logger,
    accessLog: new AccessLog(store, logger),
    maxBadRowShare: Number(process.env.KILL_MAX_BAD_ROW_SHARE ?? 0.05),
    containers,
    hooks: {
      phases: new KillingClock(),
      ...(process.env.KILL_PROGRESS === undefined
        ? {}
        : { progress: (name: string) => blobProgressSink(blobs, name, undefined, containers.processed) }),
    },
  },
  { blobName, partyId, datasetId, fileName },
);
if (stalled) {
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
  process.exit(0);
}
// Reaching here means the phase was never reached.
process.stderr.write(`${JSON.stringify(outcome)}\n`);
process.exit(3);
