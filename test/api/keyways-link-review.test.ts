import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkPendingRecords } from '../../shared/linkage/pending-links.js';
import { hostExtracts, type HostExtracts } from '../support/host-extracts.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * The Keyways agreement's tier 3 is `confirmation: officer`: its candidates are used once an
 * officer confirms them through the review endpoints. A council's senior officer may (found by a
 * review: no Keyways role was granted `review`, so the candidates waited for ever).
 */
describe('Keyways tier-3 candidates', () => {
  let t: TestHost;
  const dataset = 'keyways-housing-register';
  let extracts: HostExtracts;
  const load = (party: string, lines: string[], fileName = 'extract-2026-03-01.csv') =>
    extracts.load(party, dataset, fileName, lines);

  beforeAll(async () => {
    t = await startTestHost();
    extracts = await hostExtracts(t);
  });
  afterAll(async () => {
    await extracts?.remove();
    await t?.stop();
  });

  it("are listed for each council's senior officers, for housing allocation, and for nobody else", async () => {
    const head = 'firstName,lastName,dateOfBirth,address';
    const given = ['Adam', 'Beth', 'Carl', 'Dora', 'Evan', 'Faye', 'Gary', 'Hana', 'Ivan', 'Jill'];
    const family = ['Abbot', 'Baker', 'Cole', 'Dunn', 'Ellis', 'Ford', 'Gray', 'Hill', 'Irwin', 'Jones'];
    const filler: string[] = [];
    for (let i = 0; i < 100; i++) {
      filler.push(
        `${given[i % 10]},${family[Math.floor(i / 10)]},19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10},"${i} Some Street, Town NN1${i % 10} ${i % 9}AB"`,
      );
    }
    await load('kettering-borough-council', [
      head,
      ...filler,
      'Katherine,Whitfield,1985-03-14,"12 Elm Road, Kettering NN16 8AB"',
    ]);
    await load('corby-borough-council', [
      head,
      ...filler.slice(0, 50),
      'Katherine,Whitfield,1985-03-15,"12 Elm Road, Kettering NN16 8AB"',
    ]);
    const s = t.host.services;
    await linkPendingRecords(extracts.linkDeps());
    const candidates = await s.store.db
      .selectFrom('record_link')
      .select(['tier', 'status'])
      .where('agreement_id', '=', 'keyways-housing-allocation')
      .where('status', '=', 'candidate')
      .execute();
    expect(candidates.length, 'Keyways candidates proposed').toBeGreaterThan(0);

    const keyways = s.agreements.agreement('keyways-housing-allocation')!.agreement;
    const answers: Record<string, number> = {};
    for (const party of keyways.parties.filter((p) => p.kind === 'council')) {
      for (const purpose of keyways.purposes.map((p) => p.id)) {
        const res = await callApi(t, '/v1/link-candidates', { party: party.id, roles: [...party.roles], purpose });
        answers[`${party.id} ${purpose}`] = res.status;
      }
    }
    // Each council's senior officers review, for housing allocation; nobody else.
    for (const party of keyways.parties.filter((p) => p.kind === 'council'))
      expect(answers[`${party.id} housing-allocation`]).toBe(200);
    const list = await callApi(t, '/v1/link-candidates', {
      party: 'kettering-borough-council',
      roles: ['senior-officer'],
      purpose: 'housing-allocation',
    });
    expect((list.body as { candidates: unknown[] }).candidates.length).toBeGreaterThan(0);
    const housingOfficer = await callApi(t, '/v1/link-candidates', {
      party: 'kettering-borough-council',
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
    });
    expect(housingOfficer.status).toBe(403);
  });

  it('are not proposed where the two records hold different NI numbers, which no confirmation joins', async () => {
    const head = 'firstName,lastName,dateOfBirth,address,nationalInsuranceNumber';
    const filler: string[] = [];
    for (let i = 0; i < 100; i++)
      filler.push(`Filler${i},Person${i},1960-01-${String((i % 28) + 1).padStart(2, '0')},"${i} Road, Town NN1 1AA",`);
    await load(
      'kettering-borough-council',
      [head, ...filler, 'Katherine,Whitfield,1985-03-14,"12 Elm Road, Kettering NN16 8AB",AB123456C'],
      'extract-2026-03-02.csv',
    );
    await load(
      'corby-borough-council',
      [head, ...filler.slice(0, 50), 'Katherine,Whitfield,1985-03-15,"12 Elm Road, Kettering NN16 8AB",CE654321A'],
      'extract-2026-03-02.csv',
    );
    await linkPendingRecords(extracts.linkDeps());
    const list = await callApi(t, '/v1/link-candidates?limit=100', {
      party: 'kettering-borough-council',
      roles: ['senior-officer'],
      purpose: 'housing-allocation',
    });
    const names: unknown[][] = [];
    for (const c of (list.body as { candidates: { candidateId: string }[] }).candidates) {
      const one = await callApi(t, `/v1/link-candidates/${c.candidateId}`, {
        party: 'kettering-borough-council',
        roles: ['senior-officer'],
        purpose: 'housing-allocation',
      });
      names.push((one.body.records as { fields: Record<string, unknown> }[]).map((r) => r.fields.firstName));
    }
    expect(names).not.toContainEqual(['Katherine', 'Katherine']);
  });

  it('lists only candidates whose two records are still there, before the next pass has run', async () => {
    const officer = (path: string) =>
      callApi(t, path, { party: 'corby-borough-council', roles: ['senior-officer'], purpose: 'housing-allocation' });
    const listed = async () =>
      ((await officer('/v1/link-candidates?limit=100')).body as { candidates: { candidateId: string }[] }).candidates;
    const head = 'firstName,lastName,dateOfBirth,address';
    const filler: string[] = [];
    for (let i = 0; i < 100; i++)
      filler.push(`Filler${i},Person${i},1960-01-${String((i % 28) + 1).padStart(2, '0')},"${i} Road, Town NN1 1AA"`);
    await load(
      'kettering-borough-council',
      [head, ...filler, 'Katherine,Whitfield,1985-03-14,"12 Elm Road, Kettering NN16 8AB"'],
      'extract-2026-03-03.csv',
    );
    await load(
      'corby-borough-council',
      [head, ...filler.slice(0, 50), 'Katherine,Whitfield,1985-03-15,"12 Elm Road, Kettering NN16 8AB"'],
      'extract-2026-03-03.csv',
    );
    await linkPendingRecords(extracts.linkDeps());
    expect((await listed()).length).toBeGreaterThan(0);
    // Kettering's next snapshot replaces its records; its linking pass has not run yet.
    await load(
      'kettering-borough-council',
      ['firstName,lastName,dateOfBirth,address', 'Zed,Quinn,1970-01-01,"1 Road, Town NN1 1AA"'],
      'extract-2026-03-04.csv',
    );
    for (const c of await listed()) expect((await officer(`/v1/link-candidates/${c.candidateId}`)).status).toBe(200);
  });
});
