import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LocalSecretSource } from '../../shared/secrets/local-secret-source.js';
import { SecretUnavailableError } from '../../shared/secrets/secret-source.js';
import { asHousingReviewer, jonathanIn, linkForReview, listedCandidateIds } from '../support/linked-people.js';
import { insertRecord } from '../support/records.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The tier-5 review endpoints over real HTTP: a reviewer of the council's housing team lists
 * candidates, sees the two records cut down to identification items, and confirms or rejects;
 * nobody else may; every call leaves one access-log entry.
 */
describe('link review API', () => {
  let t: TestHost;
  const DATASET = 'multiple-disadvantage-indicators';
  const PURPOSE = 'homelessness-prevention';
  const persons: Record<string, string> = {};

  const logEntries = () => t.host.services.store.db.selectFrom('access_log').selectAll().orderBy('seq').execute();

  const call = (
    path: string,
    init: { party: string; roles: string[]; purpose?: string; method?: string; body?: unknown },
  ) => callApi(t, path, { method: 'GET', ...init });

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    const services = t.host.services;
    persons.housing = (
      await insertRecord(
        services,
        jonathanIn('la-housing', 'Smyth', { inRentArrears: true, inTemporaryAccommodation: true }),
      )
    ).personId;
    persons.care = (
      await insertRecord(services, jonathanIn('la-childrens-social-care', 'Smith', { childProtection: true }))
    ).personId;
    await linkForReview(t, 'social-care-education-housing');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('lists the candidate to a reviewer, with sources and no personal data', async () => {
    const res = await asHousingReviewer(t, '/v1/link-candidates');
    expect(res.status).toBe(200);
    const candidates = res.body.candidates as { candidateId: string; tier: number; records: unknown[] }[];
    expect(candidates).toHaveLength(1);
    expect(candidates[0]).toMatchObject({
      tier: 5,
      records: [
        { dataset: DATASET, source: 'la-childrens-social-care' },
        { dataset: DATASET, source: 'la-housing' },
      ],
    });
    expect(res.text).not.toMatch(/JONATHAN|Jonathan|SMYTH|2012-03-04/);
  });

  it('shows one candidate with identification items only, and logs both people as its subject', async () => {
    const [id] = await listedCandidateIds(t);
    const before = (await logEntries()).length;
    const res = await asHousingReviewer(t, `/v1/link-candidates/${id}`);
    expect(res.status).toBe(200);
    const records = res.body.records as { fields: Record<string, unknown> }[];
    expect(records.map((r) => r.fields.lastName).sort()).toEqual(['Smith', 'Smyth']);
    for (const r of records) {
      expect(
        Object.keys(r.fields).every((f) =>
          ['firstName', 'lastName', 'dateOfBirth', 'gender', 'homeAddress', 'homePostcode'].includes(f),
        ),
      ).toBe(true);
    }
    expect(res.text).not.toContain('childProtection');
    expect(res.text).not.toContain('inRentArrears');
    const entries = (await logEntries()).slice(before);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: 'link.candidate', decision: 'allow' });
    expect(entries[0]!.subject_ref!.split(' ').sort()).toEqual([persons.housing, persons.care].sort());
  });

  it('refuses every other role and party, as 403, and an unknown id as 404', async () => {
    const [id] = await listedCandidateIds(t);
    const officer = await call(`/v1/link-candidates/${id}`, {
      party: 'la-housing',
      roles: ['housing-officer'],
      purpose: PURPOSE,
    });
    expect(officer.status).toBe(403);
    const provider = await call('/v1/link-candidates', {
      party: 'social-housing-providers',
      roles: ['rp-tenancy-officer'],
      purpose: 'tenancy-sustainment',
    });
    expect(provider.status).toBe(403);
    const noPurpose = await call('/v1/link-candidates', { party: 'la-housing', roles: ['reviewer'] });
    expect(noPurpose.status).toBe(400);
    const unknown = await asHousingReviewer(t, '/v1/link-candidates/00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect((unknown.body as { type: string }).type).toBe('urn:lintel:problem:candidate-unknown');
    const junk = await asHousingReviewer(t, '/v1/link-candidates/not-an-id/confirm', { method: 'POST' });
    expect(junk.status).toBe(404);
  });

  it('makes no decision while the access log cannot be written', async () => {
    const [id] = await listedCandidateIds(t);
    const db = t.host.services.store.db;
    await sql`alter table access_log rename to access_log_unreachable`.execute(db);
    try {
      const confirmed = await asHousingReviewer(t, `/v1/link-candidates/${id}/confirm`, { method: 'POST' });
      expect(confirmed.status).toBe(503);
    } finally {
      await sql`alter table access_log_unreachable rename to access_log`.execute(db);
    }
    expect(await db.selectFrom('link_decision').selectAll().execute()).toEqual([]);
    expect(await listedCandidateIds(t)).toEqual([id]);
  });

  it('makes no decision while person-ref-key cannot be read: 503, as the confirmation could not keep its records', async () => {
    const [id] = await listedCandidateIds(t);
    const secrets = t.host.services.secrets as LocalSecretSource;
    const get = secrets.get.bind(secrets);
    const spy = vi.spyOn(secrets, 'get').mockImplementation(async (name, version) => {
      if (name === 'person-ref-key') throw new SecretUnavailableError(name);
      return get(name, version);
    });
    try {
      const confirmed = await asHousingReviewer(t, `/v1/link-candidates/${id}/confirm`, { method: 'POST' });
      expect(confirmed.status).toBe(503);
      expect(confirmed.body).toMatchObject({ type: 'urn:lintel:problem:key-unavailable' });
    } finally {
      spy.mockRestore();
    }
    expect(await t.host.services.store.db.selectFrom('link_decision').selectAll().execute()).toEqual([]);
    expect(await listedCandidateIds(t)).toEqual([id]);
  });

  it('confirming joins the records into one person a housing officer then sees whole; a second decision is 409', async () => {
    const [id] = await listedCandidateIds(t);
    const before = (await logEntries()).length;
    const confirmed = await asHousingReviewer(t, `/v1/link-candidates/${id}/confirm`, { method: 'POST' });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ candidateId: id, decision: 'confirmed' });
    const again = await asHousingReviewer(t, `/v1/link-candidates/${id}/reject`, { method: 'POST' });
    expect(again.status).toBe(409);
    const entries = (await logEntries()).slice(before);
    expect(entries.map((e) => [e.action, e.reason_code])).toEqual([
      ['link.confirm', 'link-confirmed'],
      ['link.reject', 'candidate-decided'],
    ]);
    // Each names the dataset of the pair it decided on, as the view's entry does.
    for (const entry of entries) expect(entry.datasets).toContain('multiple-disadvantage-indicators');
    expect(await listedCandidateIds(t)).toEqual([]);

    const search = await call('/v1/people/search', {
      party: 'la-housing',
      roles: ['housing-officer'],
      purpose: PURPOSE,
      method: 'POST',
      body: { familyName: 'Smith', givenName: 'Jonathan', dateOfBirth: '2012-03-04' },
    });
    expect(search.status).toBe(200);
    const sources = (search.body.records as { source: string }[]).map((r) => r.source).sort();
    expect(sources).toEqual(['la-childrens-social-care', 'la-housing']);
  });

  it('records with the decision the agreement whose review grant allowed it, for the DPO', async () => {
    const decisions = await t.host.services.store.db
      .selectFrom('link_decision')
      .select(['decision', 'party_id', 'agreement_id'])
      .execute();
    // Under the pair's key and, each record alone in its source, its identity key.
    expect(decisions.length).toBeGreaterThanOrEqual(1);
    for (const decision of decisions) {
      expect(decision).toEqual({
        decision: 'confirmed',
        party_id: 'la-housing',
        agreement_id: 'social-care-education-housing',
      });
    }
  });
});
