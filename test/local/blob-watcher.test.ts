import { BlobServiceClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventGridEvent } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { azuriteConnectionString, startAzurite, type RunningAzurite } from '../../local/azurite.js';
import { BlobWatcher } from '../../local/blob-watcher.js';
import { freePort } from '../../local/free-port.js';
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

  // By hand: with the host's Azurite killed under it, `kill -TERM` took about a minute to end the
  // host, stop() waiting out the SDK's retries of the scan's receipt and listing calls.
  describe('with its Azurite gone', () => {
    const location = mkdtempSync(join(tmpdir(), 'lintel-watcher-stop-'));
    let azurite: RunningAzurite;
    beforeAll(async () => {
      azurite = await startAzurite({ port: await freePort(), location });
    });
    afterAll(async () => {
      await azurite?.stop();
      rmSync(location, { recursive: true, force: true });
    });

    it('stops without waiting out the SDK’s retries, and lets the delivery in progress finish', async () => {
      const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
      const [first, second] = [`watch-${randomUUID().slice(0, 8)}`, `watch-${randomUUID().slice(0, 8)}`];
      for (const container of [first, second]) await blobs.getContainerClient(container).createIfNotExists();
      await blobs.getContainerClient(first).getBlockBlobClient('party/dataset/extract.csv').upload('x', 1);

      const logged: string[] = [];
      let azuriteStopped!: () => void;
      const azuriteGone = new Promise<void>((resolveGone) => (azuriteStopped = resolveGone));
      let finishDelivery!: () => void;
      const deliveryMayFinish = new Promise<void>((resolveFinish) => (finishDelivery = resolveFinish));
      let deliveryFinished = false;
      const registration = (container: string, name: string) =>
        ({ kind: 'blob-created', name, container, queue: name, handler: async () => undefined }) as const;
      const watcher = new BlobWatcher(
        blobs,
        [
          {
            ...registration(first, 'slowImport'),
            handler: async () => {
              await azurite.stop();
              azuriteStopped();
              await deliveryMayFinish;
              deliveryFinished = true;
            },
          },
          // Listed after the delivery: without the abort, one more call for the SDK to retry.
          registration(second, 'otherImport'),
        ],
        createLogger('debug', (line) => logged.push((JSON.parse(line) as { event: string }).event)),
      );
      await watcher.start();
      await azuriteGone;

      // Stopped mid-delivery: what follows the handler (its receipt, the next listing) is the watcher's.
      const stopping = watcher.stop();
      finishDelivery();
      await stopping;

      expect(deliveryFinished).toBe(true);
      expect(logged).not.toContain('localhost.blob.scan-failed');
      expect(logged).not.toContain('localhost.blob.handler-failed');
    });

    it('cuts a listing in flight when stopped, not waiting out its retries', async () => {
      // Nothing listens on this port, as on Azurite's once it is gone: the listing is refused.
      const blobs = BlobServiceClient.fromConnectionString(azuriteConnectionString(await freePort()));
      const watcher = new BlobWatcher(
        blobs,
        [
          {
            kind: 'blob-created',
            name: 'anyImport',
            container: 'watched',
            queue: 'any',
            handler: async () => undefined,
          },
        ],
        createLogger('error', () => undefined),
      );
      const scan = watcher.scanOnce();
      await watcher.stop();

      await expect(scan).rejects.toMatchObject({ name: 'AbortError' });
    });
  });
});
