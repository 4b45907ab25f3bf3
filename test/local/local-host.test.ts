import { BlobServiceClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type RunningAzurite } from '../../local/azurite.js';
import { freePort } from '../../local/free-port.js';
import { startLocalHost, type LocalHost } from '../../local/local-host.js';
import { MAX_JSON_BODY_BYTES } from '../../shared/api/json-body-limit.js';
import { testSettings } from '../support/settings.js';
import { rawRequest } from './raw-http.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('local host', () => {
  let host: LocalHost;
  // An Azurite of its own: this host watches `incoming`, the product's own container, and other
  // test files running beside this one drop files there for the import function to take.
  let azurite: RunningAzurite;
  let azuriteFolder: string;
  const blobService = () => BlobServiceClient.fromConnectionString(azurite.connectionString);

  beforeAll(async () => {
    azuriteFolder = mkdtempSync(join(tmpdir(), 'lintel-local-host-azurite-'));
    azurite = await startAzurite({ port: await freePort(), location: azuriteFolder });
    host = await startLocalHost({
      settings: testSettings({ AzureWebJobsStorage: azurite.connectionString }),
      port: 0,
      blobScanIntervalMs: 100,
      runTimers: false,
    });
  });
  afterAll(async () => {
    await host?.stop();
    await azurite?.stop();
    if (azuriteFolder) rmSync(azuriteFolder, { recursive: true, force: true });
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
    expect(wrongMethod.headers.get('allow')).toBe('GET, HEAD');
  });

  it("gives the router's own answers an X-Request-Id: the caller's UUID, or a fresh one", async () => {
    const sent = randomUUID().toUpperCase();
    const wrongMethod = await fetch(`${host.url}/api/v1/people/search`, {
      method: 'PUT',
      headers: { 'x-request-id': sent },
    });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('content-type')).toBe('application/problem+json');
    expect(await wrongMethod.json()).toMatchObject({ type: 'urn:lintel:problem:method-not-allowed' });
    expect(wrongMethod.headers.get('x-request-id')).toBe(sent.toLowerCase());

    const missing = await fetch(`${host.url}/api/no-such-route`, { headers: { 'x-request-id': 'AB-123456-C' } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-request-id')).toMatch(UUID);

    const health = await fetch(`${host.url}/api/health`);
    expect(health.headers.get('x-request-id')).toMatch(UUID);
  });

  it("echoes the caller's X-Request-Id from the unauthenticated endpoints too", async () => {
    const sent = randomUUID();
    for (const path of ['/api/health', '/api/openapi.json', '/api/docs', '/api/docs/swagger-ui.css']) {
      const res = await fetch(`${host.url}${path}`, { headers: { 'x-request-id': sent } });
      await res.arrayBuffer();
      expect.soft(res.headers.get('x-request-id'), path).toBe(sent);
    }
  });

  it('answers a declared body over the API limit without waiting for it, then closes the connection', async () => {
    const started = Date.now();
    const res = await rawRequest(
      host.url,
      'POST /api/v1/people/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 100000000\r\n\r\n',
      // A few bytes of the 100 MB: the answer must not wait for more.
      { body: '{"nhsNumber":', waitMs: 5000 },
    );
    // The function answers, as under the Functions host: without a token, 401 (with one, 413:
    // test/api/limits.test.ts).
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['x-request-id']).toMatch(UUID);
    // The host closed the connection rather than waiting for 100 MB.
    expect(res.closedByServer).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops reading a chunked body once it passes the API limit, answers, and closes the connection', async () => {
    const chunk = 'a'.repeat(MAX_JSON_BODY_BYTES + 1024);
    const res = await rawRequest(
      host.url,
      'POST /api/v1/people/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n',
      // The body never ends: no terminating chunk is sent.
      { body: `${chunk.length.toString(16)}\r\n${chunk}\r\n`, waitMs: 5000 },
    );
    expect(res.status).toBe(401);
    expect(res.closedByServer).toBe(true);
  });

  it('still takes a body within the limit (and then asks for a token)', async () => {
    const res = await fetch(`${host.url}/api/v1/people/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ niNumber: 'x'.repeat(MAX_JSON_BODY_BYTES - 100) }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-request-id')).toMatch(UUID);
  });

  it('routes a request whatever its Host header says', async () => {
    const res = await rawRequest(
      host.url,
      'GET /api/v1/people/%7Eabc HTTP/1.1\r\nHost: example.org\r\nConnection: close\r\n\r\n',
    );
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ type: 'urn:lintel:problem:unauthenticated' });
  });

  it('fires the registered import handler exactly once for a file dropped into incoming', async () => {
    const blobs = blobService();
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

  it('imports files whose names hold a %, a percent escape or a space, under exactly those names', async () => {
    const blobs = blobService();
    const tag = randomUUID().slice(0, 8);
    const names = [`extract-50%-sample-${tag}.csv`, `extract-%41-${tag}.csv`, `extract ${tag} copy.csv`].map(
      (name) => `test-party/test-dataset/${name}`,
    );
    for (const name of names) {
      const content = `ref\n${randomUUID()}\n`;
      await blobs.getContainerClient('incoming').getBlockBlobClient(name).upload(content, content.length);
    }

    // Each file is followed to its report, as `npm run import` does.
    const reportOf = (name: string) =>
      blobs
        .getContainerClient('rejected')
        .getBlobClient(`${name}.report.json`)
        .downloadToBuffer()
        .then((b) => JSON.parse(b.toString('utf8')) as Record<string, unknown>)
        .catch(() => undefined);
    const deadline = Date.now() + 20_000;
    const reports = new Map<string, Record<string, unknown>>();
    while (reports.size < names.length && Date.now() < deadline) {
      for (const name of names) {
        const report = reports.has(name) ? undefined : await reportOf(name);
        if (report) reports.set(name, report);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...reports.keys()].sort()).toEqual([...names].sort());

    const runs = await host.services.store.db
      .selectFrom('import_run')
      .select(['blob_name', 'status'])
      .where('blob_name', 'in', names)
      .execute();
    expect(runs.map((r) => r.blob_name).sort()).toEqual([...names].sort());
    // The import did not pick up some other blob: nothing was made of `extract-A-….csv`.
    const decoded = await host.services.store.db
      .selectFrom('import_run')
      .select('blob_name')
      .where('blob_name', '=', `test-party/test-dataset/extract-A-${tag}.csv`)
      .execute();
    expect(decoded).toHaveLength(0);
  });
});
