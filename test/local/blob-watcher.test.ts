import { BlobServiceClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import type { EventGridEvent } from '@azure/functions';
import { describe, expect, inject, it } from 'vitest';
import { BlobWatcher } from '../../local/blob-watcher.js';
import { blobCreatedEventSchema, createdBlobOf } from '../../shared/blob/blob-created-event.js';
import { MAX_IMPORT_ATTEMPTS } from '../../shared/imports/reasons.js';
import { createLogger } from '../../shared/logging.js';

describe('blob watcher', () => {
  it('keeps delivering a failing blob past the import’s own attempts, so the import can give its verdict', async () => {
    const blobs = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
    const container = `watch-${randomUUID().slice(0, 8)}`;
    await blobs.getContainerClient(container).createIfNotExists();
    const name = `party/dataset/extract-${randomUUID()}.csv`;
    await blobs.getContainerClient(container).getBlockBlobClient(name).upload('ref\n1\n', 6);

    // As the import does: each delivery is one attempt; past MAX_IMPORT_ATTEMPTS failed ones,
    // the next delivery rejects the file (with its report) and returns.
    const deliveries: string[] = [];
    let verdict: string | undefined;
    const watcher = new BlobWatcher(
      blobs,
      [
        {
          kind: 'blob-created',
          name: 'flakyImport',
          container,
          queue: 'flaky-import',
          handler: async (event) => {
            deliveries.push(createdBlobOf(blobCreatedEventSchema.parse(event)).blobName);
            if (deliveries.length <= MAX_IMPORT_ATTEMPTS) throw new Error('import failed');
            verdict = 'import-attempts-exhausted';
          },
        },
      ],
      createLogger('error', () => undefined),
    );
    await blobs.getContainerClient('azure-webjobs-hosts').createIfNotExists();
    for (let scan = 0; scan < MAX_IMPORT_ATTEMPTS + 3; scan++) await watcher.scanOnce();

    expect(verdict).toBe('import-attempts-exhausted');
    expect(deliveries).toHaveLength(MAX_IMPORT_ATTEMPTS + 1);
    expect(new Set(deliveries)).toEqual(new Set([name]));
  });

  it('delivers the event Event Grid would: the blob name URL-encoded in subject and url', async () => {
    const blobs = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
    const container = `watch-${randomUUID().slice(0, 8)}`;
    await blobs.getContainerClient(container).createIfNotExists();
    await blobs.getContainerClient('azure-webjobs-hosts').createIfNotExists();
    const name = `p/d/50% of %41 & more ${randomUUID().slice(0, 8)}.csv`;
    await blobs.getContainerClient(container).getBlockBlobClient(name).upload('x', 1);

    const events: EventGridEvent[] = [];
    const watcher = new BlobWatcher(
      blobs,
      [
        {
          kind: 'blob-created',
          name: 'record',
          container,
          queue: 'record',
          handler: async (event) => void events.push(event as EventGridEvent),
        },
      ],
      createLogger('error', () => undefined),
    );
    await watcher.scanOnce();

    expect(events).toHaveLength(1);
    const event = events[0]!;
    const encoded = name.split('/').map(encodeURIComponent).join('/');
    expect(event.subject).toBe(`/blobServices/default/containers/${container}/blobs/${encoded}`);
    expect(new URL((event.data as { url: string }).url).pathname.endsWith(`/${container}/${encoded}`)).toBe(true);
    expect(createdBlobOf(blobCreatedEventSchema.parse(event))).toMatchObject({ container, blobName: name });
  });
});
