import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWith, HOUSING_FIRST_WITHOUT_DUDLEY } from '../shared/agreements/agreement-files.js';
import {
  consentToResearch,
  dudleyParticipant,
  dudleyParticipantsConsenting,
  insertRecord,
  namedPeople,
} from '../support/records.js';
import { callApi, restartTestHost, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The research agreement re-signed without Dudley: ICF supplies the participants' contact details
 * itself, and Dudley's records stay in the store, no longer the agreement's (README, former
 * sources). A consent Dudley took for a participant only Dudley's record holds reaches no one:
 * ICF's lookup passes over that record and is refused. Read back, it said `reachesNoOne: false`,
 * counting the former source's record a lookup never considers, so Dudley's officer had no way
 * to see it must be recorded again (found by a defect hunt). One whose participant ICF's own
 * record holds too still reaches them, and reads back so.
 */
describe("reading back a consent whose person only a former source's record holds", () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const [vic, wyn] = namedPeople(['Vic', 'Wyn'], 'Former', 1984);
  let ids: Map<string, string>;

  const readBack = (person: { givenName: string }) =>
    callApi(t, `/v1/consents/${ids.get(person.givenName)}`, {
      party: DUDLEY,
      roles: ['housing-officer'],
      purpose: 'research-evaluation',
      method: 'GET',
    });
  const icfLookup = (person: object) =>
    callApi(t, '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body: person,
    });

  beforeAll(async () => {
    t = await startTestHost();
    ids = await dudleyParticipantsConsenting(t, [vic], '07700 90070', 'HF/CONSENT/31');
    // Wyn is in ICF's own interview records too, under the same person.
    const { personId } = await insertRecord(t.host.services, dudleyParticipant(wyn, '07700 900711'));
    await insertRecord(t.host.services, {
      ...dudleyParticipant(wyn, '07700 900712', personId),
      partyId: 'icf-research',
    });
    ids.set('Wyn', await consentToResearch(t, wyn, 'HF/CONSENT/32'));
    t = await restartTestHost(t, { AGREEMENTS_DIR: agreementsFolderWith(HOUSING_FIRST_WITHOUT_DUDLEY) });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('says the consent reaches no one when ICF is refused the participant', async () => {
    const refused = await icfLookup(vic);
    expect(refused.status, refused.text).toBe(404);
    const read = await readBack(vic);
    expect(read.status, read.text).toBe(200);
    expect(read.body, "read back as reaching a participant only Dudley's former record holds").toMatchObject({
      consentId: ids.get('Vic'),
      withdrawnAt: null,
      detachedAt: null,
      reachesNoOne: true,
    });
    expect(read.text).not.toMatch(/Vic|Former/);
  });

  it("says it still reaches a participant ICF's own record holds", async () => {
    const found = await icfLookup(wyn);
    expect(found.status, found.text).toBe(200);
    const read = await readBack(wyn);
    expect(read.status, read.text).toBe(200);
    expect(read.body).toMatchObject({ consentId: ids.get('Wyn'), withdrawnAt: null, reachesNoOne: false });
  });
});
