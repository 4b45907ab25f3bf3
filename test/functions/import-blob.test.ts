import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import type { EventGridEvent } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import '../../functions/import-blob.js';
import { registrations, type BlobCreatedRegistration } from '../../functions/registry.js';
import type { ImportReport } from '../../shared/imports/import-report.js';
import { createLogger } from '../../shared/logging.js';
import { createServices, useServices, type Services } from '../../shared/services.js';
import { testSettings } from '../support/settings.js';
import { holdFirstBlobCall, importFixture } from '../shared/imports/import-harness.js';
import { withAttributes } from '../../shared/store/record-attributes.js';

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
    const content = importFixture('good.csv');
    await services.blobs.getContainerClient('incoming').getBlockBlobClient(blobName).upload(content, content.length);

    await handler(blobCreated('incoming', blobName), context());

    const run = await services.store.db
      .selectFrom('import_run')
      .selectAll()
      .where('blob_name', '=', blobName)
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'loaded', rows_loaded: 40, party_id: 'la-housing' });
    // Loaded, linked, then the ISA's joint-system retention applied: only the 14 of the 40 whom
    // Housing records in temporary accommodation are held.
    const records = await withAttributes(
      await services.store.db
        .selectFrom('source_record')
        .select('attributes')
        .where('import_run_id', '=', run.id)
        .execute(),
      services.store,
    );
    expect(records).toHaveLength(14);
    for (const { attributes } of records) expect(attributes).toMatchObject({ inTemporaryAccommodation: true });
    const deletions = await services.store.db
      .selectFrom('access_log')
      .select('subject_ref')
      .where('action', '=', 'retention-delete')
      .execute();
    expect(deletions).toHaveLength(26);
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

  it.each([
    ['base64 text, as Event Grid writes it to the queue', (event: object) => btoa(JSON.stringify(event))],
    ['JSON text', (event: object) => JSON.stringify(event)],
  ])('imports the file named by a queue message holding the event as %s', async (_, message) => {
    const blobName = `la-housing/multiple-disadvantage-indicators/queued-${randomUUID()}.csv`;
    const content = importFixture('good.csv');
    await services.blobs.getContainerClient('incoming').getBlockBlobClient(blobName).upload(content, content.length);

    await handler(message(blobCreated('incoming', blobName)), context());

    // Handled (loaded, or a duplicate of the same bytes loaded by another test): out of incoming.
    expect(await services.blobs.getContainerClient('incoming').getBlobClient(blobName).exists()).toBe(false);
    expect(await services.blobs.getContainerClient('processed').getBlobClient(blobName).exists()).toBe(true);
  });

  it('throws on a queue message that is not an Event Grid event, so it reaches the poison queue, importing nothing', async () => {
    const before = await services.store.db.selectFrom('import_run').select('id').execute();
    for (const message of ['', 'not an event', '{', 42, null, [blobCreated('incoming', 'a/b/c.csv')]])
      await expect(handler(message, context())).rejects.toThrow('The queue message is not an Event Grid event');
    // An Event Grid event that is not a usable BlobCreated is taken off the queue, ignored.
    await expect(handler(btoa('{"eventType":"Microsoft.Storage.BlobCreated"}'), context())).resolves.toBeUndefined();
    expect(await services.store.db.selectFrom('import_run').select('id').execute()).toEqual(before);
  });

  it('reads base64 text broken over lines', async () => {
    const blobName = `la-housing/multiple-disadvantage-indicators/wrapped-${randomUUID()}.csv`;
    const content = importFixture('good.csv');
    await services.blobs.getContainerClient('incoming').getBlockBlobClient(blobName).upload(content, content.length);
    const wrapped = btoa(JSON.stringify(blobCreated('incoming', blobName))).replace(/.{76}/g, '$&\n');
    await handler(wrapped, context());
    expect(await services.blobs.getContainerClient('incoming').getBlobClient(blobName).exists()).toBe(false);
  });

  it.each([
    ['at the top of incoming', () => `loose-${randomUUID()}.csv`, 'unknown', 'unknown'],
    ['with no dataset folder', () => `la-housing/extract-${randomUUID()}.csv`, 'la-housing', 'unknown'],
    [
      'a folder too deep',
      () => `la-housing/multiple-disadvantage-indicators/2024/extract-${randomUUID()}.csv`,
      'la-housing',
      'multiple-disadvantage-indicators',
    ],
  ])('rejects a file %s as bad-path, with a report and an access-log entry', async (_, name, party, dataset) => {
    const blobName = name();
    const content = importFixture('good.csv');
    await services.blobs.getContainerClient('incoming').getBlockBlobClient(blobName).upload(content, content.length);
    const runsBefore = await services.store.db.selectFrom('import_run').select('id').execute();

    await handler(blobCreated('incoming', blobName), context());

    expect(await services.blobs.getContainerClient('incoming').getBlobClient(blobName).exists()).toBe(false);
    expect(await services.blobs.getContainerClient('rejected').getBlobClient(blobName).exists()).toBe(true);
    const report = JSON.parse(
      (
        await services.blobs.getContainerClient('rejected').getBlobClient(`${blobName}.report.json`).downloadToBuffer()
      ).toString('utf8'),
    ) as ImportReport;
    expect(report).toMatchObject({
      outcome: 'rejected',
      file: blobName,
      partyId: party,
      datasetId: dataset,
      counts: { rows: 0, loaded: 0, rejected: 0 },
      fileErrors: [{ reason: 'bad-path' }],
    });
    const entries = () =>
      services.store.db.selectFrom('access_log').selectAll().where('request_id', '=', report.runId).execute();
    expect(await entries()).toMatchObject([
      {
        action: 'import',
        client_id: 'blob-upload',
        party_id: party,
        decision: 'deny',
        reason_code: 'bad-path',
      },
    ]);
    expect(JSON.parse((await entries())[0]!.datasets)).toEqual([dataset]);
    // Nothing was loaded, and no run claimed.
    expect(await services.store.db.selectFrom('import_run').select('id').execute()).toEqual(runsBefore);

    // The event delivered again: the file is gone from incoming, nothing more happens.
    await handler(blobCreated('incoming', blobName), context());
    expect(await entries()).toHaveLength(1);
  });

  it('keeps folder names the agreements do not know out of the access log and the log lines', async () => {
    const lines: string[] = [];
    useServices(Promise.resolve({ ...services, logger: createLogger('debug', (line) => lines.push(line)) }));
    try {
      const ni = `QQ${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}C`;
      const names = [
        `${ni}/extract-${randomUUID()}.csv`,
        `${ni}/multiple-disadvantage-indicators/extract-${randomUUID()}.csv`,
        `la-housing/${ni}/extract-${randomUUID()}.csv`,
        `la-housing/multiple-disadvantage-indicators/${ni}/extract-${randomUUID()}.csv`,
      ];
      const content = importFixture('good.csv');
      const firstSeq = await lastSeq();
      for (const blobName of names) {
        await services.blobs
          .getContainerClient('incoming')
          .getBlockBlobClient(blobName)
          .upload(content, content.length);
        await handler(blobCreated('incoming', blobName), context());
        expect(await services.blobs.getContainerClient('rejected').getBlobClient(blobName).exists()).toBe(true);
      }
      const entries = await services.store.db
        .selectFrom('access_log')
        .selectAll()
        .where('seq', '>', firstSeq)
        .execute();
      expect(entries).toHaveLength(names.length);
      expect(entries.map((e) => e.reason_code).sort()).toEqual(
        ['bad-path', 'bad-path', 'party-not-source', 'unknown-dataset'].sort(),
      );
      expect(JSON.stringify(entries).toUpperCase()).not.toContain(ni);
      expect(lines.filter((l) => l.includes('import.rejected'))).toHaveLength(names.length);
      expect(lines.join('\n').toUpperCase()).not.toContain(ni);
    } finally {
      useServices(Promise.resolve(services));
    }
  });

  async function lastSeq(): Promise<number> {
    const row = await services.store.db
      .selectFrom('access_log')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

  // WinSCP, the SFTP client most councils use, uploads a file over 100 KB as <name>.filepart and
  // renames it when complete. Storage raises BlobCreated (SftpCommit) for the temporary name and
  // BlobRenamed (SftpRename) for the final one: the extract was imported as "….csv.filepart" and
  // moved away under the client (whose rename then failed), or, had the rename come first, found
  // gone and never imported under any name.
  it('imports an SFTP upload under the name the client renames it to, never under its temporary .filepart name', async () => {
    const blobName = `la-housing/multiple-disadvantage-indicators/sftp-${randomUUID()}.csv`;
    const partName = `${blobName}.filepart`;
    const content = importFixture('good.csv');
    const incoming = services.blobs.getContainerClient('incoming');
    await incoming.getBlockBlobClient(partName).upload(content, content.length);

    await handler(
      {
        ...blobCreated('incoming', partName),
        data: { api: 'SftpCommit', url: `http://127.0.0.1/devstoreaccount1/incoming/${partName}` },
      },
      context(),
    );
    expect(await incoming.getBlobClient(partName).exists(), 'the temporary file was taken from the client').toBe(true);
    expect(
      await services.store.db.selectFrom('import_run').select('id').where('blob_name', '=', partName).execute(),
    ).toEqual([]);

    // The client renames it (Azurite has no rename: copied, as the name now holds the same bytes).
    await incoming.getBlockBlobClient(blobName).upload(content, content.length);
    await incoming.getBlobClient(partName).delete();
    const renamed: EventGridEvent = {
      ...blobCreated('incoming', blobName),
      eventType: 'Microsoft.Storage.BlobRenamed',
      data: {
        api: 'SftpRename',
        sourceUrl: `http://127.0.0.1/devstoreaccount1/incoming/${partName}`,
        destinationUrl: `http://127.0.0.1/devstoreaccount1/incoming/${blobName}`,
      },
    };
    await handler(renamed, context());
    // Handled (loaded, or a duplicate of the same bytes loaded by another test): out of incoming.
    expect(await incoming.getBlobClient(blobName).exists()).toBe(false);
    expect(await services.blobs.getContainerClient('processed').getBlobClient(blobName).exists()).toBe(true);
  });

  it('ignores events of other containers, and events other than BlobCreated', async () => {
    const before = await services.store.db.selectFrom('import_run').select('id').execute();
    const rejectedBefore = await services.store.db
      .selectFrom('access_log')
      .select('seq')
      .where('reason_code', '=', 'bad-path')
      .execute();
    await handler(
      blobCreated('processed', `la-housing/multiple-disadvantage-indicators/${randomUUID()}.csv`),
      context(),
    );
    await handler({ ...blobCreated('incoming', 'a/b/c.csv'), eventType: 'Microsoft.Storage.BlobDeleted' }, context());
    await handler({ ...blobCreated('incoming', 'loose.csv'), eventType: 'Microsoft.Storage.BlobDeleted' }, context());
    expect(await services.store.db.selectFrom('import_run').select('id').execute()).toEqual(before);
    expect(
      await services.store.db.selectFrom('access_log').select('seq').where('reason_code', '=', 'bad-path').execute(),
    ).toEqual(rejectedBefore);
  });

  // A delivery stalled after its load (a pause, a slow storage call) and released after a later
  // content of the name has loaded still runs afterLoad for its own run, whose records the later
  // load replaced. The linking pass and the retention rules work on the agreement's records as the
  // store holds them, never on the run's: the extra pass links no record of the replaced snapshot,
  // changes no one the later pass formed, and deletes no one (no retention entry).
  it("links and deletes nothing more when a load's delivery, stalled after its commit, is released after a later content of its name loaded", async () => {
    const own = await createServices(testSettings());
    const lines: string[] = [];
    useServices(Promise.resolve({ ...own, logger: createLogger('debug', (line) => lines.push(line)) }));
    const incoming = own.blobs.getContainerClient('incoming');
    const deliver = async (blobName: string, content: Buffer) => {
      await incoming.getBlockBlobClient(blobName).upload(content, content.length);
      return handler(blobCreated('incoming', blobName), context());
    };
    try {
      await deliver(
        `la-education/multiple-disadvantage-indicators/e-${randomUUID()}.csv`,
        importFixture('education-good.csv'),
      );
      const blobName = `la-housing/multiple-disadvantage-indicators/stalled-${randomUUID()}.csv`;
      const publishing = holdFirstBlobCall('deleteIfExists', 'processed');
      const stalled = deliver(blobName, importFixture('good.csv'));
      await publishing.reached;
      const runs = () => own.store.db.selectFrom('import_run').selectAll().where('blob_name', '=', blobName).execute();
      const [superseded] = await runs();
      expect(superseded).toMatchObject({ status: 'loaded', rows_loaded: 40 });

      await deliver(blobName, importFixture('good-second-snapshot.csv'));
      const later = (await runs()).find((run) => run.id !== superseded!.id);
      expect(later).toMatchObject({ status: 'loaded', rows_loaded: 15 });
      const state = async () => ({
        records: await own.store.db
          .selectFrom('source_record')
          .select(['id', 'import_run_id', 'person_id'])
          .orderBy('id')
          .execute(),
        links: await own.store.db
          .selectFrom('record_link')
          .selectAll()
          .orderBy('record_a')
          .orderBy('record_b')
          .execute(),
        entries: await own.store.db
          .selectFrom('access_log')
          .select(['seq', 'request_id', 'action', 'reason_code'])
          .orderBy('seq')
          .execute(),
      });
      const before = await state();
      expect(before.records.filter((r) => r.import_run_id === superseded!.id)).toEqual([]);
      expect(before.records.some((r) => r.import_run_id === later!.id && r.person_id !== null)).toBe(true);
      const logged = lines.length;
      publishing.release();
      await stalled;

      const after = await state();
      expect(after.records).toEqual(before.records);
      expect(after.links).toEqual(before.links);
      // Its own import entry only: no retention entry about anyone.
      expect(after.entries.slice(before.entries.length)).toMatchObject([
        { request_id: superseded!.id, action: 'import', reason_code: 'snapshot-loaded' },
      ]);
      expect(lines.slice(logged).join('\n')).not.toMatch(/after-load-failed|retention\.failed|linkage\.pending-failed/);
    } finally {
      vi.restoreAllMocks();
      useServices(Promise.resolve(services));
      await own.close();
    }
  });
});
