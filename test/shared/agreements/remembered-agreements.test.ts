import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { auditScope } from '../../../shared/audit/dpo-views.js';
import { agreementsOfEntry } from '../../../shared/audit/entry-agreements.js';
import { rememberAgreements } from '../../../shared/agreements/remembered-agreements.js';
import { identifierUseOf } from '../../../shared/people/lookup-identifiers.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import {
  AGREEMENTS_DIR,
  agreementsFolderWith,
  agreementsFolderWithout,
  HOUSING_FIRST_WITHOUT_DUDLEY,
} from '../agreements/agreement-files.js';

/**
 * The store's memory of each purpose's and dataset's agreement, and how an entry under a purpose,
 * or on a dataset, the agreements no longer define is filed by it (entry-agreements.ts). The
 * host-level cases — a re-signing that drops the evaluation's purpose, or its contacts dataset,
 * seen through two DPOs' views — are test/api/audit-scope-purpose-removed.test.ts and
 * test/api/audit-scope-dataset-removed.test.ts.
 */
const RESEARCH = 'housing-first-research';
const KEYWAYS = 'keyways-housing-allocation';
const SCEH = 'social-care-education-housing';
const DUDLEY = 'dudley-housing-options';
const CONTACTS = 'housing-first-participant-contacts';
const REGISTER = 'keyways-housing-register';

/**
 * The agreements as signed, and as re-signed without the evaluation's purpose or its contacts
 * dataset (both renamed), Dudley having signed the Keyways DSA too (as a housing officer): its own
 * conduct is both agreements'.
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
      ...[
        '  - id: ',
        '    dataset: ',
        '  - dataset: HF\n    scope: joint-system\n',
        '  - dataset: HF\n    scope: recipient\n    holder: MHCLG\n',
        '  - dataset: HF\n    scope: recipient\n    holder: DWP',
      ].map((line) => ({
        agreement: 'housingFirst',
        from: line.includes('HF') ? line.replace('HF', CONTACTS) : `${line}${CONTACTS}\n`,
        to: line.includes('HF')
          ? line.replace('HF', 'research-follow-up-contacts')
          : `${line}research-follow-up-contacts\n`,
      })),
      {
        agreement: 'keyways',
        from: '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n',
        to:
          '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n' +
          '  - id: dudley-housing-options\n    name: Dudley Metropolitan Borough Council - Housing Options and Support\n    kind: council\n    roles: [housing-officer]\n',
      },
    ]),
  );

const entry = (party_id: string, purpose: string, datasets: string[] = []) => ({
  party_id,
  purpose,
  roles: '["housing-officer"]',
  datasets: JSON.stringify(datasets),
});
const none = { purposes: new Map(), datasets: new Map(), agreements: new Map(), droppedParties: new Map() };

describe('remembering which agreement each purpose and dataset belonged to', () => {
  let store: Store;
  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: ':memory:' });
    await migrateToLatest(store);
  });
  afterEach(async () => {
    await store.close();
  });
  const rows = () => store.db.selectFrom('purpose_agreement').selectAll().orderBy('purpose_id').execute();
  const datasetRows = () => store.db.selectFrom('dataset_agreement').selectAll().orderBy('dataset_id').execute();

  it('answers nothing while everything is defined, and keeps the first time each was loaded', async () => {
    expect(await rememberAgreements(store, signed, new Date('2026-01-01T00:00:00Z'))).toEqual(none);
    const first = await rows();
    expect(first.map((r) => [r.purpose_id, r.agreement_id])).toContainEqual(['research-evaluation', RESEARCH]);
    expect(first.map((r) => r.purpose_id)).toHaveLength(
      signed.all().reduce((n, { agreement }) => n + agreement.purposes.length, 0),
    );
    const firstDatasets = await datasetRows();
    expect(firstDatasets.map((r) => [r.dataset_id, r.agreement_id])).toContainEqual([CONTACTS, RESEARCH]);
    expect(firstDatasets.map((r) => r.dataset_id)).toHaveLength(
      signed.all().reduce((n, { agreement }) => n + agreement.datasets.length, 0),
    );
    // A start-up on the same files writes nothing.
    await rememberAgreements(store, signed, new Date('2026-02-01T00:00:00Z'));
    expect(await rows()).toEqual(first);
    expect(await datasetRows()).toEqual(firstDatasets);
  });

  it('answers a dropped purpose and dataset with their agreement, on every start-up after the re-signing', async () => {
    await rememberAgreements(store, signed);
    const after = resigned();
    const dropped = {
      purposes: new Map([['research-evaluation', RESEARCH]]),
      datasets: new Map([[CONTACTS, RESEARCH]]),
      agreements: new Map(),
      droppedParties: new Map(),
    };
    expect(await rememberAgreements(store, after)).toEqual(dropped);
    expect(await rememberAgreements(store, after)).toEqual(dropped);
    expect((await rows()).map((r) => r.purpose_id)).toContain('research-follow-up');
    expect((await datasetRows()).map((r) => r.dataset_id)).toContain('research-follow-up-contacts');
  });

  it("keeps each agreement's version, parties' roles and auditors, written only where new or changed", async () => {
    const parties = () => store.db.selectFrom('agreement_party').selectAll().orderBy('agreement_id').execute();
    await rememberAgreements(store, signed, new Date('2026-01-01T00:00:00Z'));
    const first = await parties();
    // One row for each agreement loaded: every file in the folder, an added one too (agreements/README.md).
    expect(first.map((r) => r.agreement_id)).toEqual(
      signed
        .all()
        .map(({ agreement }) => agreement.id)
        .sort(),
    );
    expect(first.map((r) => r.agreement_id)).toEqual(expect.arrayContaining([RESEARCH, KEYWAYS, SCEH]));
    expect(first.find((r) => r.agreement_id === RESEARCH)).toEqual({
      agreement_id: RESEARCH,
      version: '1.0.0',
      parties: JSON.stringify([
        { id: DUDLEY, roles: ['housing-officer', 'dpo'] },
        { id: 'icf-research', roles: ['researcher'] },
      ]),
      audit: JSON.stringify({ roles: ['dpo'] }),
      identifier_kinds: JSON.stringify(['system-id:case-reference']),
      dropped_parties: null,
      content_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      recorded_at: '2026-01-01T00:00:00.000Z',
    });
    await rememberAgreements(store, signed, new Date('2026-02-01T00:00:00Z'));
    expect(await parties()).toEqual(first);
    // Re-signed with a role more: the row is the agreement as loaded now.
    const reroled = loadAgreements(
      agreementsFolderWith([
        { agreement: 'housingFirst', from: "version: '1.0.0'", to: "version: '1.1.0'" },
        {
          agreement: 'housingFirst',
          from: '    kind: research\n    roles: [researcher]\n',
          to: '    kind: research\n    roles: [researcher, dpo]\n',
        },
      ]),
    );
    await rememberAgreements(store, reroled, new Date('2026-03-01T00:00:00Z'));
    const research = (await parties()).find((r) => r.agreement_id === RESEARCH)!;
    expect([research.version, research.recorded_at]).toEqual(['1.1.0', '2026-03-01T00:00:00.000Z']);
    expect(JSON.parse(research.parties)).toContainEqual({ id: 'icf-research', roles: ['researcher', 'dpo'] });
    expect((await parties()).filter((r) => r.recorded_at === '2026-03-01T00:00:00.000Z')).toHaveLength(1);
  });

  it('writes the content hash of a row from before migration 0046 once, naming no change', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (event: string, fields?: unknown) => warnings.push({ event, fields }) };
    await rememberAgreements(store, signed, new Date('2026-01-01T00:00:00Z'), logger);
    await store.db.updateTable('agreement_party').set({ content_hash: null }).execute();
    await rememberAgreements(store, signed, new Date('2026-02-01T00:00:00Z'), logger);
    const rows = await store.db.selectFrom('agreement_party').select('content_hash').execute();
    expect(rows.every((row) => /^[0-9a-f]{64}$/.test(row.content_hash ?? ''))).toBe(true);
    expect(warnings).toEqual([]);
  });

  it('remembers a party a re-signing dropped, with the roles it held, for withdrawing alone, till it signs again', async () => {
    await rememberAgreements(store, signed);
    const withoutDudley = loadAgreements(agreementsFolderWith(HOUSING_FIRST_WITHOUT_DUDLEY));
    const former = await rememberAgreements(store, withoutDudley);
    const dropped = new Map([[RESEARCH, [{ id: DUDLEY, roles: ['housing-officer', 'dpo'] }]]]);
    expect(former.droppedParties).toEqual(dropped);
    // Remembered at every start-up after, not only the one that saw it go.
    expect((await rememberAgreements(store, withoutDudley)).droppedParties).toEqual(dropped);
    const agreements = withoutDudley.withFormerAgreements(former);
    expect(agreements.knowsParty(DUDLEY)).toBe(true);
    expect(agreements.party(DUDLEY)).toBeUndefined();
    expect([...agreements.rolesOfPartyIn(RESEARCH, DUDLEY)]).toEqual([]);
    expect([...agreements.rolesOfPartyDroppedFrom(RESEARCH, DUDLEY)]).toEqual(['housing-officer', 'dpo']);
    expect(agreements.formerAgreementsOfParty(DUDLEY)).toEqual([]);
    // Its entries under the agreement's purpose are the agreement's.
    expect(agreementsOfEntry(agreements, entry(DUDLEY, 'research-evaluation'))).toEqual([RESEARCH]);
    // Signed again, it is a party as the file says, and nothing is remembered of it.
    expect((await rememberAgreements(store, signed)).droppedParties).toEqual(new Map());
  });

  it('answers an agreement whose file was removed, as last loaded, and grants it nothing', async () => {
    await rememberAgreements(store, signed);
    const ended = loadAgreements(agreementsFolderWithout(['housingFirst']));
    const former = await rememberAgreements(store, ended);
    expect(former.agreements).toEqual(
      new Map([
        [
          RESEARCH,
          {
            id: RESEARCH,
            version: '1.0.0',
            parties: [
              { id: DUDLEY, roles: ['housing-officer', 'dpo'] },
              { id: 'icf-research', roles: ['researcher'] },
            ],
            audit: { roles: ['dpo'] },
            identifierKinds: ['system-id:case-reference'],
          },
        ],
      ]),
    );
    expect(former.purposes.get('research-evaluation')).toBe(RESEARCH);
    expect(former.datasets.get(CONTACTS)).toBe(RESEARCH);
    const agreements = ended.withFormerAgreements(former);
    // Its entries are its own, for its DPOs alone.
    expect(agreementsOfEntry(agreements, entry(DUDLEY, 'research-evaluation'))).toEqual([RESEARCH]);
    expect(agreementsOfEntry(agreements, entry('icf-research', 'research-evaluation', [CONTACTS]))).toEqual([RESEARCH]);
    expect(auditScope(agreements, [RESEARCH]).datasets).toEqual([CONTACTS]);
    // Its contacts are searched, for its DPO's subject access requests, by the kinds it matched on.
    expect(identifierUseOf(agreements)(CONTACTS, 'system-id:case-reference')).toBe(true);
    expect(identifierUseOf(agreements)(CONTACTS, 'ni')).toBe(false);
    // Nothing else: no party, purpose, dataset or grant of it is known.
    expect(agreements.party(DUDLEY)).toBeUndefined();
    expect(agreements.agreement(RESEARCH)).toBeUndefined();
    expect(agreements.purpose('research-evaluation')).toBeUndefined();
    expect(agreements.dataset(CONTACTS)).toBeUndefined();
    expect(agreements.grantsFor('research-evaluation')).toEqual([]);
    expect(agreements.rolesOfPartyIn(RESEARCH, DUDLEY).size).toBe(0);
  });

  it('takes a purpose that moved to another agreement as where it is now', async () => {
    await store.db
      .insertInto('purpose_agreement')
      .values({ purpose_id: 'research-evaluation', agreement_id: KEYWAYS, recorded_at: '2025-01-01T00:00:00.000Z' })
      .execute();
    await store.db
      .insertInto('dataset_agreement')
      .values({ dataset_id: CONTACTS, agreement_id: KEYWAYS, recorded_at: '2025-01-01T00:00:00.000Z' })
      .execute();
    expect(await rememberAgreements(store, signed, new Date('2026-03-01T00:00:00Z'))).toEqual(none);
    expect((await rows()).find((r) => r.purpose_id === 'research-evaluation')).toEqual({
      purpose_id: 'research-evaluation',
      agreement_id: RESEARCH,
      recorded_at: '2026-03-01T00:00:00.000Z',
    });
    expect((await datasetRows()).find((r) => r.dataset_id === CONTACTS)).toEqual({
      dataset_id: CONTACTS,
      agreement_id: RESEARCH,
      recorded_at: '2026-03-01T00:00:00.000Z',
    });
  });
});

describe('filing an entry that names no dataset by a purpose the agreements no longer define', () => {
  // Dudley signs the research agreement and the Keyways DSA; Kettering only the Keyways DSA.
  const agreements = resigned().withFormerAgreements({
    purposes: new Map([
      ['research-evaluation', RESEARCH],
      ['tenancy-sustainment', KEYWAYS], // defined today (by SCEH): the files win
      ['withdrawn-pilot', 'no-longer-loaded'],
    ]),
    datasets: new Map(),
  });

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

describe('filing an entry that names a dataset the agreements no longer define', () => {
  // The contacts dataset was the research agreement's; the Keyways register is defined today.
  const agreements = resigned().withFormerAgreements({
    purposes: new Map(),
    datasets: new Map([
      [CONTACTS, RESEARCH],
      [REGISTER, RESEARCH], // defined today (by the Keyways DSA): the files win
    ]),
  });

  it('is the business of the agreement that defined it, whoever the party', () => {
    expect(agreementsOfEntry(agreements, entry('icf-research', 'research-evaluation', [CONTACTS]))).toEqual([RESEARCH]);
    expect(agreementsOfEntry(agreements, entry(DUDLEY, 'research-follow-up', [CONTACTS]))).toEqual([RESEARCH]);
  });

  it('is the business of both agreements beside a dataset the files define', () => {
    expect(agreementsOfEntry(agreements, entry(DUDLEY, 'housing-allocation', [REGISTER, CONTACTS]))).toEqual([
      KEYWAYS,
      RESEARCH,
    ]);
  });

  it('goes by the agreements loaded for a dataset they define, whatever the store remembers', () => {
    expect(agreementsOfEntry(agreements, entry(DUDLEY, 'housing-allocation', [REGISTER]))).toEqual([KEYWAYS]);
    expect(agreements.formerAgreementOfDataset(REGISTER)).toBeUndefined();
  });

  it("is nobody's on a dataset known to neither, as before", () => {
    expect(agreementsOfEntry(agreements, entry(DUDLEY, 'research-follow-up', ['never-a-dataset']))).toEqual([]);
    // Without the store's memory (a set built from files alone), as before it was kept.
    expect(agreementsOfEntry(resigned(), entry('icf-research', 'research-evaluation', [CONTACTS]))).toEqual([]);
  });
});

describe("searching a dataset the agreements no longer define, for a DPO's subject access request", () => {
  const agreements = resigned().withFormerAgreements({
    purposes: new Map(),
    datasets: new Map([
      [CONTACTS, RESEARCH],
      [REGISTER, RESEARCH], // defined today (by the Keyways DSA): the files win
      ['withdrawn-pilot-register', 'withdrawn-pilot'], // its agreement is gone too
    ]),
  });

  it('is searched by the DPO of the agreement that last defined it, and by no other', () => {
    expect(auditScope(agreements, [RESEARCH]).datasets).toContain(CONTACTS);
    expect(auditScope(agreements, [KEYWAYS]).datasets).not.toContain(CONTACTS);
    expect(auditScope(agreements, [SCEH]).datasets).not.toContain(CONTACTS);
    expect(agreements.formerDatasetsOf(RESEARCH)).toEqual([CONTACTS]);
    expect(agreements.formerDatasetsOf('withdrawn-pilot')).toEqual(['withdrawn-pilot-register']);
    // Without the store's memory (a set built from files alone), as before it was kept.
    expect(auditScope(resigned(), [RESEARCH]).datasets).not.toContain(CONTACTS);
  });

  it('is searched by the identifier kinds that agreement matches on, and no others', () => {
    const use = identifierUseOf(agreements);
    expect(use(CONTACTS, 'system-id:case-reference')).toBe(true);
    expect(use(CONTACTS, 'nhs')).toBe(false);
    expect(use('withdrawn-pilot-register', 'system-id:case-reference')).toBe(false);
    expect(identifierUseOf(resigned())(CONTACTS, 'system-id:case-reference')).toBe(false);
  });
});
