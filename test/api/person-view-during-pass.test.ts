import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carryConsentEvents } from '../../shared/consents/carry-consents.js';
import { recordPersonIdMoves } from '../../shared/linkage/person-id-history.js';
import { atConsentCheck } from '../support/pass-at-consent-check.js';
import { consentToResearch, dudleyParticipant, insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A lookup's reads are each of the committed store at their moment: a linking pass can commit
 * between the check of who the person is and the read of their records (found by a review: the
 * consent check, queued behind the pass, let a view check the person on the state before a split
 * and show the namesake the split left under the id). The pass is held open here, and let commit
 * just as the lookup reaches its consent check.
 */
describe('a lookup that straddles a linking pass', () => {
  let t: TestHost;
  const research = { party: 'icf-research', roles: ['researcher'], purpose: 'research-evaluation' };

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** Sam's record and his namesake Samuel's under one person id, Sam's consent recorded, and Sam's reference. */
  async function samAndSamuel(familyName: string) {
    const s = t.host.services;
    const sam = { givenName: 'Sam', familyName, dateOfBirth: '1985-01-02' };
    const { recordId: samRecord, personId } = await insertRecord(s, dudleyParticipant(sam, '07700 900000'));
    await insertRecord(s, dudleyParticipant({ ...sam, givenName: 'Samuel' }, '07700 911111', personId));
    await consentToResearch(t, sam, 'HOS/CONSENT/0001');
    const found = await callApi(t, '/v1/people/search', { ...research, body: sam });
    expect(found.status).toBe(200);
    return { sam, samRecord, personId, ref: String(found.body.personRef) };
  }

  /**
   * Runs `lookup` while a pass that splits Sam out is held open, and lets it commit at the consent
   * check. `carryConsents`: the pass ends Sam's consent on the id Samuel keeps, as a real pass does
   * (carry-consents.ts); without it the consent stays on that id, in force for Samuel.
   */
  async function racingASplit(
    samRecord: string,
    personId: string,
    lookup: () => ReturnType<typeof callApi>,
    carryConsents = false,
  ) {
    const s = t.host.services;
    let reachedConsent!: () => void;
    const atConsent = new Promise<void>((r) => (reachedConsent = r));
    const race = atConsentCheck(s, reachedConsent);
    let finishPass!: () => void;
    const passMayCommit = new Promise<void>((r) => (finishPass = r));
    const pass = s.store.db.transaction().execute(async (trx) => {
      const moves = [{ from: personId, to: `${personId}-sam` }];
      if (carryConsents) {
        await carryConsentEvents(
          trx,
          'sqlite',
          moves,
          new Set([personId, `${personId}-sam`]),
          new Date().toISOString(),
        );
      }
      await trx
        .updateTable('source_record')
        .set({ person_id: `${personId}-sam` })
        .where('id', '=', samRecord)
        .execute();
      await recordPersonIdMoves(trx, 'sqlite', moves, new Date().toISOString());
      await passMayCommit;
    });
    // The pass is a long transaction when the lookup comes in.
    await new Promise((r) => setTimeout(r, 300));
    const answer = lookup();
    await atConsent;
    finishPass();
    await pass;
    race.restore();
    return answer;
  }

  it('does not show, by reference, the part a split left under the id', async () => {
    const { samRecord, personId, ref } = await samAndSamuel('Taylor');
    const answer = await racingASplit(samRecord, personId, () => callApi(t, `/v1/people/${ref}`, research));
    expect(answer.text).not.toContain('07700 911111');
    expect(answer.status).toBe(404);
    // As the same request answers after the pass.
    expect((await callApi(t, `/v1/people/${ref}`, research)).status).toBe(404);
  }, 60_000);

  // The pass ends the consent on Samuel's id: left in force for him, the search after the pass
  // rightly shows Samuel, the one namesake the research may be answered about.
  it('does not show, to a search, the part a split left under the id the search found', async () => {
    const { sam, samRecord, personId } = await samAndSamuel('Turner');
    const search = () => callApi(t, '/v1/people/search', { ...research, body: sam });
    const answer = await racingASplit(samRecord, personId, search, true);
    expect(answer.text).not.toContain('07700 911111');
    // As the same search answers after the pass.
    const after = await search();
    expect(answer.status).toBe(after.status);
    expect(answer.text).toBe(after.text);
  }, 60_000);
});
