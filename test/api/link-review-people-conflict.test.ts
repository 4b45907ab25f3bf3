import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  asHousingReviewer,
  jonathanIn,
  linkBetween,
  linkForReview,
  listedCandidateIds,
  nhs,
  personOfRecord,
} from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

const AGREEMENT = 'social-care-education-housing';

/**
 * Housing holds Jonathan Smyth without an NHS number; children's social care holds Jonathan Smith
 * with one. The tier puts the pair to an officer. Adult social care's Jonathan Smyth, with another
 * NHS number, is joined to Housing's by names and date of birth: the two people then hold
 * conflicting NHS numbers, and the pass after a confirmation would refuse the merge
 * (`refusedMerges.nhs-conflict`). The officer must not be asked about the pair, nor told
 * `confirmed` for it, though the candidate shows only the two records.
 */
describe('a link candidate whose two people hold conflicting NHS numbers', () => {
  let t: TestHost;
  let records: { housing: string; childrens: string };
  const careNhs = nhs(617);
  const adultNhs = nhs(618);

  beforeEach(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const s = t.host.services;
    records = {
      housing: (await insertRecord(s, jonathanIn('la-housing', 'Smyth', { inTemporaryAccommodation: true }))).recordId,
      childrens: (
        await insertRecord(
          s,
          jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true }, { identifiers: { nhs: careNhs } }),
        )
      ).recordId,
    };
  });
  afterEach(async () => {
    await t?.stop();
  });

  const adultSocialCareJoinsHousing = async () => {
    const adult = await insertRecord(
      t.host.services,
      jonathanIn('la-adult-social-care', 'Smyth', { isDisabled: false }, { identifiers: { nhs: adultNhs } }),
    );
    await linkForReview(t, AGREEMENT);
    // Joined to Housing's Jonathan by names and date of birth; not to children's, whose NHS number differs.
    expect(await personOfRecord(t, adult.recordId)).toBe(await personOfRecord(t, records.housing));
    return adult.recordId;
  };
  const theCandidate = () => linkBetween(t, records.housing, records.childrens, { agreementId: AGREEMENT });
  const confirm = (candidateId: string, requestId: string) =>
    asHousingReviewer(t, `/v1/link-candidates/${candidateId}/confirm`, {
      method: 'POST',
      headers: { 'x-request-id': requestId },
    });

  it('is not listed once a record joined to one of them holds another NHS number', async () => {
    await adultSocialCareJoinsHousing();
    const candidate = await theCandidate();
    expect(candidate.status).toBe('candidate');
    expect(await listedCandidateIds(t)).not.toContain(candidate.id);
  }, 60_000);

  it('is not shown by its id once that record came: 404 candidate-unknown, its records unshown, in one access-log entry', async () => {
    await linkForReview(t, AGREEMENT);
    const { id } = await theCandidate();
    expect((await asHousingReviewer(t, `/v1/link-candidates/${id}`)).status).toBe(200);
    await adultSocialCareJoinsHousing();
    expect(await listedCandidateIds(t)).not.toContain(id);

    const requestId = randomUUID();
    const res = await asHousingReviewer(t, `/v1/link-candidates/${id}`, { headers: { 'x-request-id': requestId } });
    expect(res.status).toBe(404);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toEqual((await asHousingReviewer(t, `/v1/link-candidates/${randomUUID()}`)).body);
    expect(res.body.type).toBe('urn:lintel:problem:candidate-unknown');
    expect(res.text).not.toContain('Jonathan');
    expect(res.text).not.toContain(careNhs);
    const entries = await t.host.services.store.db
      .selectFrom('access_log')
      .select(['action', 'decision', 'reason_code'])
      .where('request_id', '=', requestId)
      .execute();
    expect(entries).toEqual([
      { action: 'link.candidate', decision: 'deny', reason_code: 'candidate-identifiers-conflict' },
    ]);
  }, 60_000);

  it('is refused 409 when confirmed after that record came, deciding nothing, in one access-log entry', async () => {
    await linkForReview(t, AGREEMENT);
    const { id } = await theCandidate();
    expect(await listedCandidateIds(t)).toContain(id);
    await adultSocialCareJoinsHousing();

    const requestId = randomUUID();
    const res = await confirm(id, requestId);
    expect(res.status).toBe(409);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({
      type: 'urn:lintel:problem:candidate-identifiers-conflict',
      conflict: 'nhs-conflict',
    });
    expect(res.body.detail).toContain('NHS numbers');
    // Partners generate clients from the document: every member of the answer is one it names.
    const document = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as {
      components: { schemas: { Problem: { properties: Record<string, unknown> } } };
    };
    expect(Object.keys(res.body).filter((m) => !(m in document.components.schemas.Problem.properties))).toEqual([]);
    expect(res.text).not.toContain(careNhs);
    expect(res.text).not.toContain(adultNhs);

    const db = t.host.services.store.db;
    expect((await theCandidate()).status).toBe('candidate');
    expect(await db.selectFrom('link_decision').select('pair_key').execute()).toEqual([]);
    const entries = await db
      .selectFrom('access_log')
      .select(['action', 'decision', 'reason_code'])
      .where('request_id', '=', requestId)
      .execute();
    expect(entries).toEqual([
      { action: 'link.confirm', decision: 'deny', reason_code: 'candidate-identifiers-conflict' },
    ]);
    expect(await personOfRecord(t, records.childrens)).not.toBe(await personOfRecord(t, records.housing));
  }, 60_000);

  it('without that record, is listed and its confirmation joins the two', async () => {
    await linkForReview(t, AGREEMENT);
    const { id } = await theCandidate();
    expect(await listedCandidateIds(t)).toEqual([id]);
    const res = await confirm(id, randomUUID());
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ candidateId: id, decision: 'confirmed' });
    expect(await personOfRecord(t, records.childrens)).toBe(await personOfRecord(t, records.housing));
  }, 60_000);
});
