import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentToResearch, dudleyParticipant, insertRecord } from '../support/records.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * ICF is answered only about Housing First participants who consented. A namesake in Dudley's
 * contacts (same names and date of birth) who has not consented is no one ICF may learn of: the
 * search passes over them, as the duplicate check does, and finds the participant as it does
 * when the namesake is not there. Answered no-match, the search told ICF that Dudley's Housing
 * Options service holds someone of its participant's names and date of birth without consent.
 */
describe('a research search beside a namesake without consent', () => {
  let t: TestHost;
  const lee = { givenName: 'Lee', familyName: 'Marsh', dateOfBirth: '1979-11-23' };
  const research = (body: object = lee) =>
    callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body,
    });

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("shows the consenting participant's contact details, not no-match", async () => {
    await insertRecord(t.host.services, dudleyParticipant(lee, '07700 900101'));
    await consentToResearch(t, lee, 'form-lee');
    const alone = await research();
    expect(alone.status, alone.text).toBe(200);

    await insertRecord(t.host.services, dudleyParticipant(lee, '07700 900102'));
    const beside = await research();
    expect(beside.status, beside.text).toBe(200);
    expect(beside.body.records).toEqual(alone.body.records);
    expect(beside.text).not.toContain('07700 900102');
    expect((await reasonCodesOf(t, 'icf-research', 'person.search')).slice(-2)).toEqual(['granted', 'granted']);
  });

  // Passed over, the participant without consent was hidden as the namesake the agreement no
  // longer lets anyone be told of (a party a re-signing dropped as a source); the two hidden
  // together were "ambiguous", an entry naming no one, where the access log had kept
  // `consent-required` against the participant, as README says it does, for their DPO and their
  // subject access request to find.
  it('still logs consent-required against a participant without consent beside a namesake of a former source', async () => {
    const ash = { givenName: 'Ash', familyName: 'Marsh', dateOfBirth: '1983-04-05' };
    const participant = await insertRecord(t.host.services, dudleyParticipant(ash, '07700 900301'));
    await insertRecord(t.host.services, {
      ...dudleyParticipant(ash, '07700 900302'),
      partyId: 'wellingborough-borough-council',
    });

    const refused = await research(ash);

    expect(refused.status).toBe(404);
    const [entry] = await t.host.services.store.db
      .selectFrom('access_log')
      .select(['reason_code', 'subject_ref'])
      .where('party_id', '=', 'icf-research')
      .orderBy('seq', 'desc')
      .limit(1)
      .execute();
    expect(entry).toEqual({ reason_code: 'consent-required', subject_ref: participant.personId });
  });

  it('still answers two namesakes without consent as nobody', async () => {
    const kim = { givenName: 'Kim', familyName: 'Marsh', dateOfBirth: '1981-02-03' };
    await insertRecord(t.host.services, dudleyParticipant(kim, '07700 900201'));
    await insertRecord(t.host.services, dudleyParticipant(kim, '07700 900202'));
    const nobody = await callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body: { ...kim, familyName: 'Nobody' },
    });
    const namesakes = await callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body: kim,
    });
    expect(namesakes.status).toBe(404);
    expect(namesakes.text).toBe(nobody.text);
  });
});
