import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith } from '../shared/agreements/agreement-files.js';
import { insertRecord, type NamedPerson } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A search and a duplicate check under one purpose find the same person and log the same refusal
 * against them: the search judges whom it may answer about by the grant's scope under the
 * decision made before matching and the subject's own opt-out apart, the duplicate check by the
 * scope under the decision made with the opt-out, and the scope is the same under either (the
 * subject's conditions change no grant). Housing's analysts are given lookups and duplicate
 * checks for service planning, whose people the national data opt-out covers, and whose
 * indicators the ISA keeps on the joint system only while Housing has the family in temporary
 * accommodation.
 */
describe('a search and a duplicate check judging scope and opt-out', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost({
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'isa',
          from: '    actions: [export]\n    source: What security measures will be put in place\n',
          to: '    actions: [export, lookup, duplicate-check]\n    source: What security measures will be put in place\n',
        },
      ]),
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const call = (path: string, body: object) =>
    callApi(t, path, { party: 'la-housing', roles: ['analyst'], purpose: 'service-planning', body });
  const lastEntry = (action: string) =>
    t.host.services.store.db
      .selectFrom('access_log')
      .select(['reason_code', 'subject_ref'])
      .where('party_id', '=', 'la-housing')
      .where('action', '=', action)
      .orderBy('seq', 'desc')
      .executeTakeFirstOrThrow();

  /** A child known to children's social care; `inScope`: Housing has the family in temporary accommodation. */
  async function child(names: NamedPerson, nhs: string, inScope: boolean): Promise<string> {
    const { personId } = await insertRecord(t.host.services, {
      partyId: 'la-childrens-social-care',
      datasetId: 'multiple-disadvantage-indicators',
      ...names,
      identifiers: { nhs },
      attributes: { childProtection: true },
    });
    if (inScope) {
      await insertRecord(t.host.services, {
        partyId: 'la-housing',
        datasetId: 'multiple-disadvantage-indicators',
        personId,
        ...names,
        attributes: { inTemporaryAccommodation: true },
      });
    }
    return personId;
  }

  async function optOut(nhsNumber: string, evidenceRef: string): Promise<void> {
    const recorded = await callApi(t, '/v1/consents', {
      party: 'la-housing',
      roles: ['dpo'],
      purpose: 'service-planning',
      body: { kind: 'opt-out', subject: { nhsNumber }, evidenceRef },
    });
    expect(recorded.status, recorded.text).toBe(201);
  }

  /** Both answers for `names`, and the entry each logged. */
  async function both(names: NamedPerson) {
    const search = await call('/v1/people/search', names);
    const check = await call('/v1/duplicate-checks', names);
    return {
      search: { status: search.status, ...(await lastEntry('person.search')) },
      check: { status: check.status, duplicate: check.body.duplicate, ...(await lastEntry('person.duplicate-check')) },
    };
  }

  it('logs opted-out against one in scope beside a namesake out of scope, and answers both as nobody', async () => {
    const names = { givenName: 'Ola', familyName: 'Venn', dateOfBirth: '2013-05-06' };
    const optedOut = await child(names, '4010232145', true);
    await child(names, '4010232153', false);
    await optOut('4010232145', 'DPO/OPTOUT/1');

    expect(await both(names)).toEqual({
      search: { status: 404, reason_code: 'opted-out', subject_ref: optedOut },
      check: { status: 200, duplicate: false, reason_code: 'opted-out', subject_ref: optedOut },
    });
  });

  it('finds the one in scope beside an opted-out namesake out of scope', async () => {
    const names = { givenName: 'Pia', familyName: 'Venn', dateOfBirth: '2012-07-08' };
    const shown = await child(names, '4010232161', true);
    await child(names, '4010232188', false);
    await optOut('4010232188', 'DPO/OPTOUT/2');

    expect(await both(names)).toEqual({
      search: { status: 200, reason_code: 'granted', subject_ref: shown },
      check: { status: 200, duplicate: true, reason_code: 'granted', subject_ref: shown },
    });
  });

  it('logs opted-out, first, against one both out of scope and opted out', async () => {
    const names = { givenName: 'Rae', familyName: 'Venn', dateOfBirth: '2011-09-10' };
    const alone = await child(names, '4010232196', false);
    await optOut('4010232196', 'DPO/OPTOUT/3');

    expect(await both(names)).toEqual({
      search: { status: 404, reason_code: 'opted-out', subject_ref: alone },
      check: { status: 200, duplicate: false, reason_code: 'opted-out', subject_ref: alone },
    });
  });
});
