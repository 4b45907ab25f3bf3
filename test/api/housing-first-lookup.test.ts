import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
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
  let extracts: HostExtracts;

  beforeAll(async () => {
    t = await startTestHost();
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  it('finds a consenting participant loaded from a real extract by names and postcode', async () => {
    const s = t.host.services;
    const runId = await extracts.load(party, dataset, 'extract-2026-03-01.csv', [
      'name,telephoneNumber,email,address,caseReference',
      'Sam Taylor,07700 900000,sam@example.org,"2 Low Road, Dudley, DY1 1AA",HO-5',
    ]);
    await linkAfterImport(extracts.linkDeps(), runId);

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
