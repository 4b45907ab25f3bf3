import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { linkAfterImport } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { afterMatch, commitRecordMove } from '../support/pass-at-consent-check.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A duplicate check answers from what its match read of the person, one moment: a snapshot
 * committed between the match and the answer is not in that answer (the next check sees it). A
 * linking pass that moved records out of the id meanwhile is still caught, and the check matched
 * again on the people it left. The pass commits here, deterministically, as the match returns. Keyways purposes have no subject conditions, so
 * the consent-check hook of the other race tests is never reached.
 */
describe('a duplicate check straddling a linking pass', () => {
  let t: TestHost;
  const kettering = { party: 'kettering-borough-council', roles: ['housing-officer'], purpose: 'fraud-prevention' };

  let extracts: HostExtracts;

  beforeAll(async () => {
    t = await startTestHost();
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  const onRegister = (partyId: string, givenName: string, familyName: string, personId?: string, ni?: string) =>
    insertRecord(t.host.services, {
      partyId,
      datasetId: 'keyways-housing-register',
      ...(personId === undefined ? {} : { personId }),
      givenName,
      familyName,
      dateOfBirth: '1990-04-12',
      ...(ni === undefined ? {} : { identifiers: { ni } }),
      attributes: { firstName: givenName, lastName: familyName },
    });

  /** Runs the check with `pass` committed as its match returns; the answer and its one access-log entry. */
  async function checkRacing(body: Record<string, string>, pass: () => Promise<void>) {
    const race = afterMatch(t.host.services, pass);
    const requestId = randomUUID();
    try {
      const answer = await callApi(t, '/v1/duplicate-checks', {
        ...kettering,
        body,
        headers: { 'x-request-id': requestId },
      });
      expect(race.reached(), `the check made no match to race: ${answer.status} ${answer.text}`).toBe(true);
      const entries = await t.host.services.store.db
        .selectFrom('access_log')
        .select(['subject_ref', 'decision', 'reason_code'])
        .where('request_id', '=', requestId)
        .execute();
      return { answer, entries };
    } finally {
      race.restore();
    }
  }

  it('names the councils of the applicant a split took out, not of the namesake left under the id', async () => {
    // Aisha on Corby's register, wrongly linked with a namesake on Wellingborough's; the pass
    // splits Aisha out.
    const { recordId: aishaCorby, personId: shared } = await onRegister(
      'corby-borough-council',
      'Aisha',
      'Hussain',
      undefined,
      'JG103751',
    );
    await onRegister('wellingborough-borough-council', 'Aisha', 'Hussain', shared, 'AB987651');
    const aisha = randomUUID();
    const body = { givenName: 'Aisha', familyName: 'Hussain', dateOfBirth: '1990-04-12', niNumber: 'JG103751A' };

    const { answer, entries } = await checkRacing(body, () =>
      commitRecordMove(t.host.services, { recordId: aishaCorby, from: shared, to: aisha, keep: [shared, aisha] }),
    );

    // Matched again after the pass, as the same check sent after it is.
    const after = await callApi(t, '/v1/duplicate-checks', { ...kettering, body });
    expect(after.body).toEqual({ duplicate: true, councils: ['corby-borough-council'] });
    expect(answer.body).toEqual(after.body);
    expect(entries).toEqual([{ subject_ref: aisha, decision: 'allow', reason_code: 'granted' }]);
  }, 60_000);

  it('names the councils of the person a merge moved the applicant into, not "no duplicate"', async () => {
    // Bilal on Corby's register by his NI number; his Wellingborough application, under
    // another id, carries none. The pass merges the Corby record into the Wellingborough id.
    const { recordId: bilalCorby, personId: corbyId } = await onRegister(
      'corby-borough-council',
      'Bilal',
      'Rahman',
      undefined,
      'JG103752',
    );
    const { personId: merged } = await onRegister('wellingborough-borough-council', 'Bilal', 'Rahman');
    const body = { givenName: 'Bilal', familyName: 'Rahman', dateOfBirth: '1990-04-12', niNumber: 'JG103752A' };

    const { answer, entries } = await checkRacing(body, () =>
      commitRecordMove(t.host.services, { recordId: bilalCorby, from: corbyId, to: merged, keep: [merged] }),
    );

    const after = await callApi(t, '/v1/duplicate-checks', { ...kettering, body });
    expect(after.body).toEqual({
      duplicate: true,
      councils: ['corby-borough-council', 'wellingborough-borough-council'],
    });
    expect(answer.body).toEqual(after.body);
    expect(entries).toEqual([{ subject_ref: merged, decision: 'allow', reason_code: 'granted' }]);
  }, 60_000);

  it("answers from the match's read when Corby's next snapshot replaces, or drops, the applicant's record; the next check sees the snapshot", async () => {
    const head = 'firstName,lastName,dateOfBirth,nationalInsuranceNumber,address';
    const carla = (address: string) => `Carla,Nowak,1988-07-01,JG103753A,"${address}"`;
    const other = 'Dan,Reid,1970-02-02,JG103754A,"9 Mill Lane, Corby"';
    const dataset = 'keyways-housing-register';
    const kettering1 = await extracts.load('kettering-borough-council', dataset, 'extract-2026-12-01.csv', [
      head,
      carla('1 High Street, Kettering'),
    ]);
    await linkAfterImport(extracts.linkDeps(), kettering1);
    const corby1 = await extracts.load('corby-borough-council', dataset, 'extract-2026-12-01.csv', [
      head,
      carla('2 Station Road, Corby'),
      other,
    ]);
    await linkAfterImport(extracts.linkDeps(), corby1);
    const body = { niNumber: 'JG103753A' };
    const before = await callApi(t, '/v1/duplicate-checks', { ...kettering, body });
    expect(before.body).toEqual({ duplicate: true, councils: ['corby-borough-council'] });

    // Carla moved within Corby: her record replaced, her person id carried.
    const moved = await checkRacing(body, async () => {
      await extracts.load('corby-borough-council', dataset, 'extract-2026-12-02.csv', [
        head,
        carla('3 Castle Walk, Corby'),
        other,
      ]);
    });
    expect(moved.answer.body).toEqual({ duplicate: true, councils: ['corby-borough-council'] });
    expect(moved.entries).toHaveLength(1);

    // Carla's application closed at Corby after the check matched her: the check answers as
    // the store stood at its match, one moment, as a search does; the next check sees the
    // snapshot.
    const dropped = await checkRacing(body, async () => {
      await extracts.load('corby-borough-council', dataset, 'extract-2026-12-03.csv', [head, other]);
    });
    expect(dropped.answer.body).toEqual({ duplicate: true, councils: ['corby-borough-council'] });
    expect(dropped.entries.map((e) => e.decision)).toEqual(['allow']);
    const after = await callApi(t, '/v1/duplicate-checks', { ...kettering, body });
    expect(after.body).toEqual({ duplicate: false, councils: [] });
  }, 60_000);
});
