import type { BlobServiceClient } from '@azure/storage-blob';
import { CONTAINERS } from '../blob/blob-storage.js';
import { formatCheckpointLine, parseCheckpointLog, type Checkpoint } from './checkpoint.js';

const ANCHOR_BLOB = 'checkpoints.jsonl';

/**
 * Signed checkpoints appended to an append blob in `audit-anchors`. In production that
 * container has a locked time-based immutability policy allowing protected appends: a line
 * once written can be neither changed nor deleted, even by the storage account's owner.
 */
export class AnchorLog {
  constructor(private readonly blobs: BlobServiceClient) {}

  private blob() {
    return this.blobs.getContainerClient(CONTAINERS.auditAnchors).getAppendBlobClient(ANCHOR_BLOB);
  }

  async append(checkpoint: Checkpoint): Promise<void> {
    const blob = this.blob();
    await blob.createIfNotExists({ blobHTTPHeaders: { blobContentType: 'application/x-ndjson' } });
    const line = Buffer.from(formatCheckpointLine(checkpoint), 'utf8');
    await blob.appendBlock(line, line.byteLength);
  }

  async read(): Promise<Checkpoint[]> {
    const blob = this.blob();
    if (!(await blob.exists())) return [];
    const text = (await blob.downloadToBuffer()).toString('utf8');
    return parseCheckpointLog(text);
  }
}
