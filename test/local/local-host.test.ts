import { BlobServiceClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../../local/local-host.js';
import { testSettings } from '../support/settings.js';

describe('local host', () => {
  let host: LocalHost;

  beforeAll(async () => {
    host = await startLocalHost({ settings: testSettings(), port: 0, blobScanIntervalMs: 100 });
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('reports the store and blob storage up on /api/health, without authentication', async () => {
    const res = await fetch(`${host.url}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'up', checks: { configuration: 'up', store: 'up', blobStorage: 'up' } });
  });

  it('answers unknown routes and wrong methods with problem+json', async () => {
    const missing = await fetch(`${host.url}/api/no-such-route`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(await missing.json()).toMatchObject({ type: 'urn:lintel:problem:not-found', status: 404 });

    const wrongMethod = await fetch(`${host.url}/api/health`, { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');
  });

  it('fires the registered import handler exactly once for a file dropped into incoming', async () => {
    const blobs = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
    const fileName = `drop-${randomUUID()}.csv`;
    const content = `ref\n${randomUUID()}\n`;
    await blobs
      .getContainerClient('incoming')
      .getBlockBlobClient(`test-party/test-dataset/${fileName}`)
      .upload(content, content.length);

    const runsFor = () =>
      host.services.store.db
        .selectFrom('import_run')
        .selectAll()
        .where('blob_name', '=', `test-party/test-dataset/${fileName}`)
        .execute();

    const deadline = Date.now() + 15_000;
    while ((await runsFor()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // Several more scans pass over the same blob; none may fire the handler again.
    for (let i = 0; i < 3; i++) await host.watcher.scanOnce();

    const runs = await runsFor();
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ party_id: 'test-party', dataset_id: 'test-dataset', status: 'rejected' });
  });
});
