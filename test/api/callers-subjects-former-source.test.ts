import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH } from '../shared/agreements/agreement-files.js';
import { linkForReview } from '../support/linked-people.js';
import { insertRecord, keywaysApplicant } from '../support/records.js';
import { callApi, reasonCodesOf, restartTestHost, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The ISA re-signed with the social housing providers no longer supplying the indicators: the
 * dataset's `sources`, and the arrears fields', no longer name them. They stay a party, with their
 * tenancy-sustainment grant for "their tenants" (`subjects: with-caller-record`). The records
 * their extracts loaded before stay in the store, and are no longer the agreement's to share: nor
 * do they make anyone the providers' tenant, as the planning export already holds
 * (test/shared/curated/export-after-resigning.test.ts counts no one of theirs).
 */
describe("a former source's old records, and whom a grant for the caller's own subjects answers about", () => {
  let t: TestHost;
  const DATASET = 'multiple-disadvantage-indicators';
  const tenant = { givenName: 'Ilse', familyName: 'Ravenscroft', dateOfBirth: '2011-09-10' };
  const names = { firstName: 'Ilse', lastName: 'Ravenscroft' };

  const provider = (body: object) =>
    callApi(t, '/v1/people/search', {
      party: 'social-housing-providers',
      roles: ['rp-tenancy-officer'],
      purpose: 'tenancy-sustainment',
      body,
    });

  beforeAll(async () => {
    t = await startTestHost({
      AGREEMENTS_DIR: agreementsFolderWith([
        {
          agreement: 'isa',
          from: '      - la-housing\n      - social-housing-providers\n',
          to: '      - la-housing\n',
        },
        {
          agreement: 'isa',
          from: 'sources: [la-housing, social-housing-providers]',
          to: 'sources: [la-housing]',
          all: true,
        },
      ]),
    });
    const { personId } = await insertRecord(t.host.services, {
      partyId: 'la-housing',
      datasetId: DATASET,
      ...tenant,
      attributes: { ...names, inTemporaryAccommodation: true },
    });
    await insertRecord(t.host.services, {
      partyId: 'la-childrens-social-care',
      datasetId: DATASET,
      personId,
      ...tenant,
      attributes: { ...names, childProtection: true },
    });
    // Loaded while the providers supplied the dataset.
    await insertRecord(t.host.services, {
      partyId: 'social-housing-providers',
      datasetId: DATASET,
      personId,
      ...tenant,
      attributes: { ...names, inRentArrears: true },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('does not answer the provider about a person only its old extract made its tenant: as about someone unknown', async () => {
    const found = await provider(tenant);
    const reasons = await reasonCodesOf(t, 'social-housing-providers', 'person.search');
    expect(found.status, `log: ${reasons.join(', ')}`).toBe(404);
    expect(found.text).not.toMatch(/childProtection|inTemporaryAccommodation|Ravenscroft/);
    expect(found.text).toBe((await provider({ ...tenant, givenName: 'Nobody' })).text);
    expect(reasons.at(-1)).toBe('not-callers-subject');
  });
});

/**
 * The Keyways DSA re-signed with Wellingborough no longer supplying the housing register (it
 * stays a party, its senior officers with their review grant), the review grant being for each
 * council's own applicants (`subjects: with-caller-record`). Its old extract makes no candidate
 * pair its own, as it makes no one its applicant in a lookup: here a pair of Corby's and
 * Kettering's records whose Corby applicant its old record is of. (A pair its old record is in
 * itself no one reviews: test/api/link-review-former-source.test.ts.)
 */
describe("a former source's old records, and which candidate pairs a review grant for its own subjects shows", () => {
  let t: TestHost;
  const AGREEMENT = 'keyways-housing-allocation';
  let pair: string;
  let applicantRecords: string[];

  const listed = async (party: string) => {
    const res = await callApi(t, '/v1/link-candidates?limit=100', {
      party,
      roles: ['senior-officer'],
      purpose: 'housing-allocation',
    });
    expect(res.status, res.text).toBe(200);
    return (res.body.candidates as { candidateId: string }[]).map((c) => c.candidateId);
  };
  const applicant = (...record: Parameters<typeof keywaysApplicant>) =>
    insertRecord(t.host.services, keywaysApplicant(...record));

  beforeAll(async () => {
    const ownApplicantsOnly = {
      agreement: 'keyways',
      from: '    actions: [review]\n',
      to: '    actions: [review]\n    subjects: with-caller-record\n',
    };
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off', AGREEMENTS_DIR: agreementsFolderWith([ownApplicantsOnly]) });
    const corby = await applicant('corby-borough-council', 'Katherine', 'Whitfield', '1985-03-14');
    // Loaded, and linked, while Wellingborough supplied the register: the same applicant as Corby's.
    const wellingborough = await applicant('wellingborough-borough-council', 'Katherine', 'Whitfield', '1985-03-14');
    const kettering = await applicant('kettering-borough-council', 'Katherine', 'Whitfeld', '1985-03-14');
    await linkForReview(t, AGREEMENT);
    // Re-signed; no pass has run since (the next would give Wellingborough's record a person of
    // its own: link-people.ts).
    t = await restartTestHost(t, {
      LINTEL_DEMO_SEED: 'off',
      AGREEMENTS_DIR: agreementsFolderWith([ownApplicantsOnly, KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH]),
    });
    const link = await t.host.services.store.db
      .selectFrom('record_link')
      .select(['id', 'source_a', 'source_b', 'record_a', 'record_b'])
      .where('agreement_id', '=', AGREEMENT)
      .where('status', '=', 'candidate')
      .execute();
    applicantRecords = [corby.recordId, wellingborough.recordId];
    pair =
      link.find(
        (l) =>
          [l.record_a, l.record_b].includes(kettering.recordId) &&
          [l.source_a, l.source_b].some((s) => s.startsWith('corby-borough-council/')),
      )?.id ?? '';
    expect(pair, 'the pair is proposed').not.toBe('');
    expect(await listed('corby-borough-council')).toContain(pair);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("does not show the former source's officer a pair only its old record made its own", async () => {
    const people = await t.host.services.store.db
      .selectFrom('source_record')
      .select('person_id')
      .distinct()
      .where('id', 'in', applicantRecords)
      .execute();
    expect(people, "Wellingborough's old record is of Corby's applicant").toHaveLength(1);
    expect(await listed('wellingborough-borough-council')).not.toContain(pair);
  });
});
