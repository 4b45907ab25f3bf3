import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import functions from '@azure/functions';
import type { EventGridEvent } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/import-blob.js';
import { registrations, type BlobCreatedRegistration } from '../../functions/registry.js';
import { createServices, useServices, type Services } from '../../shared/services.js';
import { testSettings } from '../support/settings.js';

const { InvocationContext } = functions;

function blobCreated(container: string, blobName: string): EventGridEvent {
  return {
    id: randomUUID(),
    topic: '/subscriptions/test/resourceGroups/test/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
    subject: `/blobServices/default/containers/${container}/blobs/${blobName}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    dataVersion: '',
    metadataVersion: '1',
    data: { api: 'PutBlob', url: `http://127.0.0.1/devstoreaccount1/${container}/${blobName}`, blobType: 'BlockBlob' },
  };
}

describe('importBlob function', () => {
  let services: Services;
  let handler: BlobCreatedRegistration['handler'];
  const context = () => new InvocationContext({ invocationId: randomUUID(), functionName: 'importBlob' });

  beforeAll(async () => {
    services = await createServices(testSettings());
    useServices(Promise.resolve(services));
    const registration = registrations().find(
      (r): r is BlobCreatedRegistration => r.kind === 'blob-created' && r.name === 'importBlob',
    );
    handler = registration!.handler;
  });
  afterAll(async () => {
    useServices(undefined);
    await services?.close();
  });

  it('imports the file a BlobCreated event names, and moves it to processed', async () => {
    const blobName = `la-housing/multiple-disadvantage-indicators/fn-${randomUUID()}.csv`;
    const content = readFileSync(new URL('../fixtures/imports/good.csv', import.meta.url));
    await services.blobs.getContainerClient('incoming').getBlockBlobClient(blobName).upload(content, content.length);

    await handler(blobCreated('incoming', blobName), context());

    const run = await services.store.db
      .selectFrom('import_run')
      .selectAll()
      .where('blob_name', '=', blobName)
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'loaded', rows_loaded: 40, party_id: 'la-housing' });
    const records = await services.store.db
      .selectFrom('source_record')
      .select('id')
      .where('import_run_id', '=', run.id)
      .execute();
    expect(records).toHaveLength(40);
    expect(await services.blobs.getContainerClient('processed').getBlobClient(blobName).exists()).toBe(true);
    expect(await services.blobs.getContainerClient('processed').getBlobClient(`${blobName}.report.json`).exists()).toBe(
      true,
    );
    expect(await services.blobs.getContainerClient('incoming').getBlobClient(blobName).exists()).toBe(false);

    // The event delivered again (Event Grid is at least once): nothing more happens.
    await handler(blobCreated('incoming', blobName), context());
    expect(
      await services.store.db.selectFrom('import_run').select('id').where('blob_name', '=', blobName).execute(),
    ).toHaveLength(1);
  });

  it('ignores events that are not a party/dataset/file path in incoming', async () => {
    const before = await services.store.db.selectFrom('import_run').select('id').execute();
    await handler(blobCreated('incoming', `loose-${randomUUID()}.csv`), context());
    await handler(
      blobCreated('processed', `la-housing/multiple-disadvantage-indicators/${randomUUID()}.csv`),
      context(),
    );
    await handler({ ...blobCreated('incoming', 'a/b/c.csv'), eventType: 'Microsoft.Storage.BlobDeleted' }, context());
    expect(await services.store.db.selectFrom('import_run').select('id').execute()).toEqual(before);
  });
});
