import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { MOVE_COMMIT_MARGIN_MS } from '../../shared/people/current-person-id.js';
import { commitRecordMove, commitRecordMoveStampedEarly, raceAtFirstWrite } from '../support/pass-at-consent-check.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * An opt-out recorded while a linking pass splits the person it was looked up as: the objector's
 * record moves to a new id, the part left under the old id is someone else (a wrong merge
 * undone). The pass commits, deterministically, between the request's lookup and its write (as
 * the write's transaction begins), the way a pass on the store's one connection can.
 */
describe('an opt-out straddling a split', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  /**
   * Robin (by NHS number) and Robyn, under one id; `split` commits Robin's record's move to a
   * new id as the request's write begins; then what the request answered and recorded.
   */
  async function optOutStraddling(
    nhsNumber: string,
    evidenceRef: string,
    split: typeof commitRecordMove,
  ): Promise<void> {
    const s = t.host.services;
    const { recordId: objectorRecord, personId: p } = await insertRecord(s, {
      partyId: 'la-education',
      datasetId: 'multiple-disadvantage-indicators',
      givenName: 'Robin',
      familyName: 'Hale',
      dateOfBirth: '2012-05-06',
      identifiers: { nhs: nhsNumber },
      attributes: { currentSchool: 'Hill Primary' },
    });
    await insertRecord(s, {
      partyId: 'la-education',
      datasetId: 'multiple-disadvantage-indicators',
      personId: p,
      givenName: 'Robyn',
      familyName: 'Hale',
      dateOfBirth: '2012-05-06',
      attributes: { currentSchool: 'Hill Primary' },
    });

    const objector = randomUUID();
    const requestId = randomUUID();
    // The first transaction the request opens is its write: the pass commits just before it.
    const answer = await raceAtFirstWrite(
      s,
      () => split(s, { recordId: objectorRecord, from: p, to: objector, keep: [p, objector] }),
      () =>
        callApi(t, '/v1/consents', {
          party: 'la-housing',
          roles: ['dpo'],
          purpose: 'service-planning',
          body: { kind: 'opt-out', subject: { nhsNumber }, evidenceRef },
          headers: { 'x-request-id': requestId },
        }),
    );

    const optedOut = {
      objector: await s.consents.isOptedOut(objector, new Date()),
      left: await s.consents.isOptedOut(p, new Date()),
    };
    const entries = await s.store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'decision'])
      .where('request_id', '=', requestId)
      .execute();
    // One entry for the call, naming whom the answer was about.
    expect(entries).toEqual([
      answer.status < 300 ? { subject_ref: objector, decision: 'allow' } : { subject_ref: p, decision: 'deny' },
    ]);
    // A 2xx must mean the objector's opt-out is in force, and no one else's.
    if (answer.status < 300)
      expect({ status: answer.status, optedOut }).toEqual({
        status: answer.status,
        optedOut: { objector: true, left: false },
      });
    else
      expect({ status: answer.status, type: answer.body.type, optedOut }).toEqual({
        status: 409,
        type: expect.stringContaining('subject-relinked'),
        optedOut: { objector: false, left: false },
      });
  }

  it('is in force for the person whose NHS number it names, not for the one left under the old id', async () => {
    await optOutStraddling('9434765919', 'DPO/OPTOUT/SPLIT', commitRecordMove);
  }, 60_000);

  // A large pass stamps its moves long before it commits: whether the split came after the
  // lookup is told by its commit (found by a defect hunt: by the stamp, less a margin, the
  // opt-out was recorded for the one left under the old id).
  it('is in force for the objector when the pass committed long after stamping its moves', async () => {
    await optOutStraddling('9434765927', 'DPO/OPTOUT/SLOW-SPLIT', (services, move) =>
      commitRecordMoveStampedEarly(services, move, MOVE_COMMIT_MARGIN_MS + 30_000),
    );
  }, 60_000);
});
