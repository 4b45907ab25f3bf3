import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importExtract } from '../../shared/imports/import-extract.js';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * Housing First participants are looked up by names and postcode (agreements/README.md). Dudley's
 * extract has an address and no postcode field: the postcode the address ends with is the
 * matching postcode (found by a review: only the matching-only case reference could find them).
 */
describe('Housing First participants', () => {
  let t: TestHost;
  const dataset = 'housing-first-participant-contacts';
  const party = 'dudley-housing-options';
  const containers = {
    incoming: `in-${randomUUID().slice(0, 8)}`,
    processed: `done-${randomUUID().slice(0, 8)}`,
    rejected: `rej-${randomUUID().slice(0, 8)}`,
  };

  beforeAll(async () => {
    t = await startTestHost();
    for (const name of Object.values(containers))
      await t.host.services.blobs.getContainerClient(name).createIfNotExists();
  });
  afterAll(async () => {
    for (const name of Object.values(containers))
      await t?.host.services.blobs.getContainerClient(name).deleteIfExists();
    await t?.stop();
  });

  it('finds a consenting participant loaded from a real extract by names and postcode', async () => {
    const s = t.host.services;
    const fileName = 'extract-2026-03-01.csv';
    const body = Buffer.from(
      [
        'name,telephoneNumber,email,address,caseReference',
        'Sam Taylor,07700 900000,sam@example.org,"2 Low Road, Dudley, DY1 1AA",HO-5',
      ].join('\n'),
      'utf8',
    );
    const blobName = `${party}/${dataset}/${fileName}`;
    await s.blobs.getContainerClient(containers.incoming).getBlockBlobClient(blobName).upload(body, body.length);
    const outcome = await importExtract(
      {
        store: s.store,
        blobs: s.blobs,
        agreements: s.agreements,
        secrets: s.secrets,
        logger: s.logger,
        accessLog: s.accessLog,
        maxBadRowShare: 0.05,
        containers,
      },
      { blobName, partyId: party, datasetId: dataset, fileName },
    );
    expect(outcome.outcome).toBe('loaded');
    await linkAfterImport(
      { store: s.store, secrets: s.secrets, agreements: s.agreements, logger: s.logger },
      (outcome as unknown as { runId: string }).runId,
    );

    const recorded = await callApi(t, '/v1/consents', {
      party,
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      body: { subject: { systemId: { system: 'case-reference', id: 'HO-5' } }, evidenceRef: 'form-sam' },
    });
    expect(recorded.status).toBe(201);

    const icf = (query: unknown) =>
      callApi(t, '/v1/people/search', {
        party: 'icf-research',
        roles: ['researcher'],
        purpose: 'research-evaluation',
        body: query,
      });
    // The consent is in force and ICF may see Sam: by the case reference they are found.
    expect((await icf({ systemId: { system: 'case-reference', id: 'HO-5' } })).status).toBe(200);

    // What is stored for Sam's matching: no date of birth, no postcode.
    const row = await s.store.db
      .selectFrom('source_record')
      .select(['given_name', 'family_name', 'date_of_birth', 'postcode'])
      .where('dataset_id', '=', dataset)
      .executeTakeFirstOrThrow();

    const byNamesAndPostcode = await icf({ givenName: 'Sam', familyName: 'Taylor', postcode: 'DY1 1AA' });
    expect(byNamesAndPostcode.status, `stored matching columns: ${JSON.stringify(row)}`).toBe(200);
  });
});
