import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asHousingReviewer, jonathanIn, linkBetween, linkForReview } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

const AGREEMENT = 'social-care-education-housing';

/**
 * Two officers of the council's housing team open the same candidate (Housing's Jonathan Smyth,
 * children's social care's Jonathan Smith). The first decides it; a linking pass runs before the
 * second officer decides. The second must be told the pair was decided, and what was decided,
 * not that there is no such candidate: the first decision is remembered, and a pass keeps the
 * pair's candidate as decided.
 */
describe('a link candidate decided by another officer before a linking pass', () => {
  let t: TestHost;
  let records: { housing: string; childrens: string };

  beforeEach(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    records = {
      housing: (await insertRecord(s, jonathanIn('la-housing', 'Smyth', { inTemporaryAccommodation: true }))).recordId,
      childrens: (await insertRecord(s, jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true })))
        .recordId,
    };
    await linkForReview(t, AGREEMENT);
  });
  afterEach(async () => {
    await t?.stop();
  });

  /** The second officer: another housing reviewer, a token of their own. */
  const secondOfficer = (path: string, requestId: string) =>
    asHousingReviewer(t, path, { method: 'POST', headers: { 'x-request-id': requestId } });

  for (const [first, second] of [
    ['reject', 'confirm'],
    ['reject', 'reject'],
    ['confirm', 'reject'],
  ] as const) {
    it(`${first}ed, then a full pass: the second officer's ${second} is 409 candidate-decided naming the decision, nothing changed`, async () => {
      const { id } = await linkBetween(t, records.housing, records.childrens, { agreementId: AGREEMENT });
      expect((await asHousingReviewer(t, `/v1/link-candidates/${id}`)).status).toBe(200);
      expect((await asHousingReviewer(t, `/v1/link-candidates/${id}/${first}`, { method: 'POST' })).status).toBe(200);
      const decisionsBefore = await t.host.services.store.db.selectFrom('link_decision').selectAll().execute();
      await linkForReview(t, AGREEMENT);

      const requestId = randomUUID();
      const res = await secondOfficer(`/v1/link-candidates/${id}/${second}`, requestId);
      expect(res.status).toBe(409);
      expect(res.type).toBe('application/problem+json');
      expect(res.body).toMatchObject({
        type: 'urn:lintel:problem:candidate-decided',
        decision: first === 'reject' ? 'rejected' : 'confirmed',
      });
      expect(res.text).not.toContain('la-housing');
      expect(await t.host.services.store.db.selectFrom('link_decision').selectAll().execute()).toEqual(decisionsBefore);
      const entries = await t.host.services.store.db
        .selectFrom('access_log')
        .select(['action', 'decision', 'reason_code'])
        .where('request_id', '=', requestId)
        .execute();
      expect(entries).toEqual([{ action: `link.${second}`, decision: 'deny', reason_code: 'candidate-decided' }]);
    }, 60_000);
  }
});
