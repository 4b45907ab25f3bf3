import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findCandidate, recordDecision } from '../../shared/linkage/review-queue.js';
import { asHousingReviewer, jonathanIn, linkForReview } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

describe('link review: paging and candidates without a key', () => {
  let t: TestHost;
  let base: { id: string; record_a: string; record_b: string; first_run_id: string };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const services = t.host.services;
    for (const [party, family] of [
      ['la-housing', 'Smyth'],
      ['la-childrens-social-care', 'Smith'],
    ] as const)
      await insertRecord(
        services,
        // A Housing client in temporary accommodation: the pair is within the ISA's scope.
        jonathanIn(party, family, party === 'la-housing' ? { inTemporaryAccommodation: true } : {}),
      );
    await linkForReview(t, 'social-care-education-housing');
    base = (await services.store.db
      .selectFrom('record_link')
      .selectAll()
      .where('status', '=', 'candidate')
      .executeTakeFirstOrThrow()) as never;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const addCandidate = async (score: number | null, pairKey: string | null = randomUUID(), id = randomUUID()) => {
    const row = await t.host.services.store.db
      .selectFrom('record_link')
      .selectAll()
      .where('id', '=', base.id)
      .executeTakeFirstOrThrow();
    await t.host.services.store.db
      .insertInto('record_link')
      .values({ ...row, id, score, pair_key: pairKey, identity_key: null })
      .execute();
    return id;
  };

  it('odd inputs never 500', async () => {
    const statuses: Record<string, number> = {};
    for (const q of [
      'limit=1.5',
      'limit=1e1',
      'limit=%20',
      'limit=5&limit=6',
      'after=',
      'limit=0x10',
      'limit=Infinity',
      'after=1.000000_zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
    ])
      statuses[q] = (await asHousingReviewer(t, `/v1/link-candidates?${q}`)).status;
    statuses.badJson = (
      await asHousingReviewer(t, `/v1/link-candidates/${randomUUID()}/confirm`, { method: 'POST', rawBody: '{nope' })
    ).status;
    statuses.upper = (await asHousingReviewer(t, `/v1/link-candidates/${base.id.toUpperCase()}`)).status;
    statuses.pct = (await asHousingReviewer(t, `/v1/link-candidates/%E0%A4%A`)).status;
    expect(Object.values(statuses).every((s) => s < 500)).toBe(true);
  });

  // The cursor rounded the score to six decimals: the next page began before the candidate, and
  // the same page came back for ever (found by a review).
  it('pages through every open candidate exactly once (scores not on a 6-decimal grid)', async () => {
    const added = [await addCandidate(0.1234564), await addCandidate(0.1234562), await addCandidate(0.12345678)];
    const seen: string[] = [];
    let after: string | null = null;
    for (let n = 0; n < 20; n++) {
      const res = await asHousingReviewer(t, `/v1/link-candidates?limit=1${after ? `&after=${after}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...(res.body.candidates as { candidateId: string }[]).map((c) => c.candidateId));
      after = res.body.next as string | null;
      if (after === null) break;
    }
    const db = t.host.services.store.db;
    await db.deleteFrom('record_link').where('id', 'in', added).execute();
    expect(seen.sort()).toEqual([base.id, ...added].sort());
  });

  it('an open candidate without a pair key is not answered as already decided', async () => {
    const id = await addCandidate(0.5, null);
    const res = await asHousingReviewer(t, `/v1/link-candidates/${id}/reject`, { method: 'POST' });
    const row = await t.host.services.store.db
      .selectFrom('record_link')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    await t.host.services.store.db.deleteFrom('record_link').where('id', '=', id).execute();
    expect(row.status).toBe('candidate');
    // Nobody decided it: not the 409 that says the first decision stands (found by a review).
    expect(res).toMatchObject({ status: 409, body: { type: 'urn:lintel:problem:candidate-not-keyed' } });
  });

  // A candidate of before decisions were kept, as the migration that added pair_key left it (the
  // column null), which someone decided then: the first decision stands, as for any decided
  // candidate. It had been told to wait for the pass that proposes it again, which never would.
  it('a decided candidate without a pair key is answered as already decided', async () => {
    const id = await addCandidate(0.5, null);
    const db = t.host.services.store.db;
    await db.updateTable('record_link').set({ status: 'rejected' }).where('id', '=', id).execute();
    const res = await asHousingReviewer(t, `/v1/link-candidates/${id}/confirm`, { method: 'POST' });
    const row = await db.selectFrom('record_link').select('status').where('id', '=', id).executeTakeFirstOrThrow();
    await db.deleteFrom('record_link').where('id', '=', id).execute();
    expect(row.status).toBe('rejected');
    expect(res).toMatchObject({ status: 409, body: { type: 'urn:lintel:problem:candidate-decided' } });
  });

  // Read by the handler, then replaced by a linking pass before its write: what a read now finds
  // (404 candidate-unknown), as for a keyed candidate, not a wait for a pass that has been.
  it('a candidate without a pair key that is gone by the write is answered as gone', async () => {
    const id = await addCandidate(0.5, null);
    const { store } = t.host.services;
    const candidate = (await findCandidate(store, id))!;
    expect(candidate.pairKey).toBeNull();
    await store.db.deleteFrom('record_link').where('id', '=', id).execute();
    const by = {
      partyId: 'la-housing',
      clientId: 'test-reviewer',
      agreementId: candidate.agreementId,
      requestId: 'r-1',
    };
    const outcome = await store.db
      .transaction()
      .execute((trx) => recordDecision(trx, candidate, { decision: 'rejected', by, at: new Date() }, undefined));
    expect(outcome).toEqual({ outcome: 'gone' });
  });
});
