import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPeople } from '../../shared/linkage/link-people.js';
import { consentToResearch, dudleyParticipant, insertRecord, SAM, type NamedPerson } from '../support/records.js';
import { callApi, startTestHost, withdrawConsent, type TestHost } from '../support/test-host.js';

/**
 * A split detaches the person's consents, and Dudley records the consent again against each
 * participant as now found (README, Linkage). Withdrawing the detached one afterwards (tidying up
 * what the read-back shows in force for no one) must not end a consent recorded anew: one of the
 * parts kept the person id the detached consent was recorded against.
 */
describe('withdrawing a consent a split detached, after each part consented again', () => {
  let t: TestHost;
  const DUDLEY_OFFICER = { party: 'dudley-housing-options', roles: ['housing-officer'] };
  const ALEX = { givenName: 'Alex', familyName: 'Taylor', dateOfBirth: SAM.dateOfBirth };
  const icfLookup = (subject: NamedPerson) =>
    callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body: subject,
    });

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('leaves the consents recorded anew in force, and ICF still sees both participants', async () => {
    const s = t.host.services;
    // An earlier pass held Sam and Alex, both in Dudley's Housing First contacts, as one person.
    const { personId } = await insertRecord(s, dudleyParticipant(SAM, '07700 900201'));
    await insertRecord(s, dudleyParticipant(ALEX, '07700 900202', personId));
    const detached = await consentToResearch(t, SAM, 'HF/CONSENT/1');

    // A full pass parts them: one of the two keeps the id, and the consent stays with neither.
    await linkPeople(s, 'housing-first-research', 'full');
    expect((await icfLookup(SAM)).status).toBe(404);

    // Dudley records each one's consent again, as now found: ICF sees both.
    const recordedAgain = [
      await consentToResearch(t, SAM, 'HF/CONSENT/2'),
      await consentToResearch(t, ALEX, 'HF/CONSENT/3'),
    ];
    for (const subject of [SAM, ALEX]) expect((await icfLookup(subject)).status).toBe(200);

    // Then withdraws the detached one, in force for no one.
    const withdrawn = await withdrawConsent(t, detached, { ...DUDLEY_OFFICER, purpose: 'research-evaluation' });
    expect(withdrawn.status, withdrawn.text).toBe(200);

    for (const subject of [SAM, ALEX])
      expect((await icfLookup(subject)).status, `ICF still sees ${subject.givenName}`).toBe(200);
    for (const consentId of recordedAgain) {
      const readBack = await callApi(t, `/v1/consents/${consentId}`, { ...DUDLEY_OFFICER, method: 'GET' });
      expect(readBack.body).toMatchObject({ consentId, withdrawnAt: null, detachedAt: null });
    }
  });
});
