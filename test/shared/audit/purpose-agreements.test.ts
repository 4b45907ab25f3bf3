import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { agreementsOfEntry } from '../../../shared/audit/entry-agreements.js';
import { rememberPurposeAgreements } from '../../../shared/audit/purpose-agreements.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { AGREEMENTS_DIR, agreementsFolderWith } from '../agreements/agreement-files.js';

/**
 * The store's memory of each purpose's agreement, and how an entry under a purpose the agreements
 * no longer define is filed by it (entry-agreements.ts). The host-level case — a re-signing that
 * drops the evaluation's purpose, seen through two DPOs' views — is
 * test/api/audit-scope-purpose-removed.test.ts.
 */
const RESEARCH = 'housing-first-research';
const KEYWAYS = 'keyways-housing-allocation';
const SCEH = 'social-care-education-housing';
const DUDLEY = 'dudley-housing-options';

/**
 * The agreements as signed, and as re-signed without the evaluation's purpose (renamed), Dudley
 * having signed the Keyways DSA too (as a housing officer): its own conduct is both agreements'.
 */
const signed = loadAgreements(AGREEMENTS_DIR);
const resigned = () =>
  loadAgreements(
    agreementsFolderWith([
      { agreement: 'housingFirst', from: '  - id: research-evaluation\n', to: '  - id: research-follow-up\n' },
      {
        agreement: 'housingFirst',
        from: '  - purpose: research-evaluation\n',
        to: '  - purpose: research-follow-up\n',
      },
      {
        agreement: 'keyways',
        from: '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n',
        to:
          '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n' +
          '  - id: dudley-housing-options\n    name: Dudley Metropolitan Borough Council - Housing Options and Support\n    kind: council\n    roles: [housing-officer]\n',
      },
    ]),
  );

const entry = (party_id: string, purpose: string) => ({
  party_id,
  purpose,
  roles: '["housing-officer"]',
  datasets: '[]',
});

describe('remembering which agreement each purpose belonged to', () => {
  let store: Store;
  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: ':memory:' });
    await migrateToLatest(store);
  });
  afterEach(async () => {
    await store.close();
  });
  const rows = () => store.db.selectFrom('purpose_agreement').selectAll().orderBy('purpose_id').execute();

  it('answers nothing while every purpose is defined, and keeps the first time each was loaded', async () => {
    expect(await rememberPurposeAgreements(store, signed, new Date('2026-01-01T00:00:00Z'))).toEqual(new Map());
    const first = await rows();
    expect(first.map((r) => [r.purpose_id, r.agreement_id])).toContainEqual(['research-evaluation', RESEARCH]);
    expect(first.map((r) => r.purpose_id)).toHaveLength(
      signed.all().reduce((n, { agreement }) => n + agreement.purposes.length, 0),
    );
    // A start-up on the same files writes nothing.
    await rememberPurposeAgreements(store, signed, new Date('2026-02-01T00:00:00Z'));
    expect(await rows()).toEqual(first);
  });

  it('answers a dropped purpose with its agreement, on every start-up after the re-signing', async () => {
    await rememberPurposeAgreements(store, signed);
    const after = resigned();
    expect(await rememberPurposeAgreements(store, after)).toEqual(new Map([['research-evaluation', RESEARCH]]));
    expect(await rememberPurposeAgreements(store, after)).toEqual(new Map([['research-evaluation', RESEARCH]]));
    expect((await rows()).map((r) => r.purpose_id)).toContain('research-follow-up');
  });

  it('takes a purpose that moved to another agreement as where it is now', async () => {
    await store.db
      .insertInto('purpose_agreement')
      .values({ purpose_id: 'research-evaluation', agreement_id: KEYWAYS, recorded_at: '2025-01-01T00:00:00.000Z' })
      .execute();
    expect(await rememberPurposeAgreements(store, signed, new Date('2026-03-01T00:00:00Z'))).toEqual(new Map());
    expect((await rows()).find((r) => r.purpose_id === 'research-evaluation')).toEqual({
      purpose_id: 'research-evaluation',
      agreement_id: RESEARCH,
      recorded_at: '2026-03-01T00:00:00.000Z',
    });
  });
});

describe('filing an entry that names no dataset by a purpose the agreements no longer define', () => {
  // Dudley signs the research agreement and the Keyways DSA; Kettering only the Keyways DSA.
  const agreements = resigned().withFormerPurposes(
    new Map([
      ['research-evaluation', RESEARCH],
      ['tenancy-sustainment', KEYWAYS], // defined today (by SCEH): the files win
      ['withdrawn-pilot', 'no-longer-loaded'],
    ]),
  );

  it('is the business of the agreement that defined it, for a party to that agreement', () => {
    expect(agreementsOfEntry(agreements, entry(DUDLEY, 'research-evaluation'))).toEqual([RESEARCH]);
  });

  it("is its party's own conduct for a party not (now) in that agreement, as for a purpose of another agreement", () => {
    expect(agreementsOfEntry(agreements, entry('kettering-borough-council', 'research-evaluation'))).toEqual([KEYWAYS]);
  });

  it('goes by the agreements loaded for a purpose they define, whatever the store remembers', () => {
    expect(agreementsOfEntry(agreements, entry('la-housing', 'tenancy-sustainment'))).toEqual([SCEH]);
    expect(agreements.formerAgreementOfPurpose('tenancy-sustainment')).toBeUndefined();
  });

  it("is its party's own conduct under a purpose known to neither, or whose agreement is gone", () => {
    expect(agreementsOfEntry(agreements, entry(DUDLEY, 'never-a-purpose'))).toEqual([RESEARCH, KEYWAYS]);
    expect(agreementsOfEntry(agreements, entry(DUDLEY, 'withdrawn-pilot'))).toEqual([RESEARCH, KEYWAYS]);
    // Without the store's memory (a set built from files alone), as before it was kept.
    expect(agreementsOfEntry(resigned(), entry(DUDLEY, 'research-evaluation'))).toEqual([RESEARCH, KEYWAYS]);
  });
});
