import type { BlobServiceClient } from '@azure/storage-blob';
import { CONTAINERS } from '../blob/blob-storage.js';
import { progressBlobName } from './handled-names.js';

/**
 * Progress of a running import, for whoever follows it (the `npm run import` CLI). The store
 * cannot carry it: the load is one transaction, invisible until it commits. So progress goes
 * to a small blob beside where the report will be, `processed/<file>.progress.json`, rewritten
 * at most once a second and deleted when the import ends (by the next delivery, should its process
 * be killed after the file moved on). It holds counts only.
 */
export interface ImportProgress {
  readonly runId: string;
  readonly bytesRead: number;
  readonly totalBytes: number;
  readonly rows: number;
  readonly phase: 'loading';
}

export interface ImportProgressSink {
  report(progress: ImportProgress): void;
  /** Called once the import has ended, whatever the outcome. */
  close(): Promise<void>;
}

export function blobProgressSink(
  blobs: BlobServiceClient,
  blobName: string,
  intervalMs = 1000,
  container: string = CONTAINERS.processed,
): ImportProgressSink {
  const blob = blobs.getContainerClient(container).getBlockBlobClient(progressBlobName(blobName));
  let last = 0;
  let writing: Promise<unknown> = Promise.resolve();
  let closed = false;
  return {
    report(progress) {
      const now = Date.now();
      if (closed || now - last < intervalMs) return;
      last = now;
      const body = JSON.stringify(progress);
      // One write at a time, and a failed write is only a missed update.
      writing = writing.then(() => blob.upload(body, Buffer.byteLength(body)).catch(() => undefined));
    },
    async close() {
      closed = true;
      await writing;
      await blob.deleteIfExists().catch(() => undefined);
    },
  };
}
