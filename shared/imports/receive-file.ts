import { createHash, randomUUID } from 'node:crypto';
import type { Services } from '../services.js';

export interface ReceivedFile {
  /** Path inside the container, `{partyId}/{datasetId}/{fileName}`. */
  blobName: string;
  partyId: string;
  datasetId: string;
  content: Uint8Array;
}

export interface ReceiveOutcome {
  runId: string;
  /** The same bytes from the same party for the same dataset were received before. */
  duplicate: boolean;
}

/**
 * Record an import run keyed by the file's content, so the same file delivered twice (a
 * re-upload, or the trigger firing again after a crash) is applied once.
 */
export async function receiveFile(services: Services, file: ReceivedFile): Promise<ReceiveOutcome> {
  const sha256 = createHash('sha256').update(file.content).digest('hex');
  const { db } = services.store;
  const existing = await db
    .selectFrom('import_run')
    .select(['id'])
    .where('party_id', '=', file.partyId)
    .where('dataset_id', '=', file.datasetId)
    .where('content_sha256', '=', sha256)
    .executeTakeFirst();
  if (existing) {
    services.logger.info('import.duplicate', { runId: existing.id, partyId: file.partyId, datasetId: file.datasetId, sha256 });
    return { runId: existing.id, duplicate: true };
  }
  const runId = randomUUID();
  await db
    .insertInto('import_run')
    .values({
      id: runId,
      party_id: file.partyId,
      dataset_id: file.datasetId,
      blob_name: file.blobName,
      content_sha256: sha256,
      status: 'received',
      rows_total: null,
      rows_loaded: null,
      rows_rejected: null,
      received_at: new Date().toISOString(),
      finished_at: null,
    })
    .execute();
  services.logger.info('import.received', {
    runId,
    partyId: file.partyId,
    datasetId: file.datasetId,
    bytes: file.content.byteLength,
    sha256,
  });
  return { runId, duplicate: false };
}
