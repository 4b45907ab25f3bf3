import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertRecord } from '../support/records.js';
import { nhs } from '../support/linked-people.js';
import { callApi, reasonCodesOf, startTestHost, type TestHost } from '../support/test-host.js';

const ISA = 'multiple-disadvantage-indicators';
const KEYWAYS = 'keyways-housing-register';

/**
 * The caller's date of birth against the person an identifier finds: a sibling's NHS number
 * pasted into an applicant's search, or an NI number mistyped into a stranger's, finds that other
 * person, and only the date of birth the officer also gave says so. Nobody is shown, as for an
 * identifier that contradicts them; the person whose own date it is is found as before, and so is
 * one whom two sources hold with two dates, by either.
 */
describe('a lookup whose date of birth says the person an identifier found is someone else', () => {
  let t: TestHost;
  const applicant = { givenName: 'Ada', familyName: 'Penrose', dateOfBirth: '2012-03-04' };
  const applicantNhs = nhs(731001);
  const siblingNhs = nhs(731101);
  const twoDatesNhs = nhs(731201);
  const undatedNhs = nhs(731301);

  beforeAll(async () => {
    t = await startTestHost();
    const services = t.host.services;
    await insertRecord(services, {
      partyId: 'la-housing',
      datasetId: ISA,
      ...applicant,
      identifiers: { nhs: applicantNhs },
      attributes: { firstName: 'Ada', lastName: 'Penrose', inTemporaryAccommodation: true, homeAddress: 'ADA-ADDRESS' },
    });
    await insertRecord(services, {
      partyId: 'la-housing',
      datasetId: ISA,
      givenName: 'Ivo',
      familyName: 'Penrose',
      dateOfBirth: '2009-08-21',
      identifiers: { nhs: siblingNhs },
      attributes: { firstName: 'Ivo', lastName: 'Penrose', inTemporaryAccommodation: true, homeAddress: 'IVO-ADDRESS' },
    });
    // Housing and social care hold Cal under two dates of birth: either is his.
    const { personId: cal } = await insertRecord(services, {
      partyId: 'la-housing',
      datasetId: ISA,
      givenName: 'Cal',
      familyName: 'Reyes',
      dateOfBirth: '1990-05-01',
      identifiers: { nhs: twoDatesNhs },
      attributes: { firstName: 'Cal', lastName: 'Reyes', inTemporaryAccommodation: true, homeAddress: 'CAL-ADDRESS' },
    });
    await insertRecord(services, {
      partyId: 'la-childrens-social-care',
      datasetId: ISA,
      personId: cal,
      givenName: 'Cal',
      familyName: 'Reyes',
      dateOfBirth: '1991-07-12',
      attributes: { firstName: 'Cal', lastName: 'Reyes', childProtection: true },
    });
    // No source holds Dee's date of birth: nothing says she is someone else.
    await insertRecord(services, {
      partyId: 'la-housing',
      datasetId: ISA,
      givenName: 'Dee',
      familyName: 'Holt',
      identifiers: { nhs: undatedNhs },
      attributes: { firstName: 'Dee', lastName: 'Holt', inTemporaryAccommodation: true, homeAddress: 'DEE-ADDRESS' },
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** An officer's search, with the access-log entries it wrote and the reason code of the last. */
  async function officerSearch(body: object) {
    const before = await t.accessLogSize();
    const res = await callApi(t, '/v1/people/search', {
      party: 'la-housing',
      roles: ['housing-officer'],
      purpose: 'homelessness-prevention',
      body,
    });
    const entries = (await t.accessLogSize()) - before;
    const reason = (await reasonCodesOf(t, 'la-housing', 'person.search')).at(-1);
    return { res, entries, reason };
  }

  it("shows nobody for a sibling's NHS number sent with the applicant's own names and date of birth", async () => {
    const { res, entries, reason } = await officerSearch({ ...applicant, nhsNumber: siblingNhs });
    expect(res.text).not.toContain('IVO-ADDRESS');
    expect(res.status, "the sibling's record is shown for the applicant's date of birth").toBe(404);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ type: expect.stringMatching(/no-match$/) });
    expect(reason).toBe('date-of-birth-conflict');
    expect(entries).toBe(1);
  });

  it('finds the applicant by her own NHS number and date of birth', async () => {
    const { res, entries, reason } = await officerSearch({ nhsNumber: applicantNhs, dateOfBirth: '04/03/2012' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('ADA-ADDRESS');
    expect(res.body).toMatchObject({ match: { tier: 1 } });
    expect(reason).toBe('granted');
    expect(entries).toBe(1);
  });

  it('finds someone two sources hold with two dates of birth by either date', async () => {
    for (const dateOfBirth of ['1990-05-01', '1991-07-12']) {
      const { res, entries } = await officerSearch({ nhsNumber: twoDatesNhs, dateOfBirth });
      expect(res.status, dateOfBirth).toBe(200);
      expect(res.text).toContain('CAL-ADDRESS');
      expect(entries).toBe(1);
    }
  });

  it('finds someone no record holds a date of birth for, whatever date is given', async () => {
    const { res, entries } = await officerSearch({ nhsNumber: undatedNhs, dateOfBirth: '1975-11-30' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('DEE-ADDRESS');
    expect(entries).toBe(1);
  });
});

/**
 * The duplicate check finds its person the way a search does, and tells of them: a stranger's NI
 * number typed in for an applicant must not name the councils the stranger applied to.
 */
describe('a duplicate check whose date of birth says the person an NI number found is someone else', () => {
  let t: TestHost;
  const strangerNi = 'JG103771';
  beforeAll(async () => {
    t = await startTestHost();
    // One stranger, on two councils' registers.
    let personId: string | undefined;
    for (const partyId of ['corby-borough-council', 'wellingborough-borough-council']) {
      ({ personId } = await insertRecord(t.host.services, {
        partyId,
        ...(personId === undefined ? {} : { personId }),
        datasetId: KEYWAYS,
        givenName: 'Rory',
        familyName: 'Quill',
        dateOfBirth: '1968-02-17',
        identifiers: { ni: strangerNi },
        attributes: { firstName: 'Rory', lastName: 'Quill', dateOfBirth: '1968-02-17', address: '9 Wharf Row' },
      }));
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  const check = (body: object) =>
    callApi(t, '/v1/duplicate-checks', {
      party: 'kettering-borough-council',
      roles: ['housing-officer'],
      purpose: 'fraud-prevention',
      body,
    });

  it("names no council for a stranger's NI number sent with the applicant's date of birth", async () => {
    const before = await t.accessLogSize();
    const res = await check({ niNumber: `${strangerNi}A`, dateOfBirth: '1993-10-06' });
    expect(res.status).toBe(200);
    expect(res.body, "the stranger's councils are named for the applicant").toEqual({ duplicate: false, councils: [] });
    expect(await t.accessLogSize()).toBe(before + 1);
    expect((await reasonCodesOf(t, 'kettering-borough-council', 'person.duplicate-check')).at(-1)).toBe(
      'date-of-birth-conflict',
    );
    // The stranger's own date of birth still finds him.
    const own = await check({ niNumber: `${strangerNi}A`, dateOfBirth: '1968-02-17' });
    expect(own.body).toEqual({
      duplicate: true,
      councils: ['corby-borough-council', 'wellingborough-borough-council'],
    });
  });
});
