import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { storagePlanFor } from '../../../shared/imports/storage-plan.js';
import { agreementsFolderWith } from '../agreements/agreement-files.js';
import { AGREEMENTS_DIR, createImportHarness, type ImportHarness } from './import-harness.js';

/** The shipped agreements, with Keyways' tier-2 key replaced by `key` (a YAML flow sequence). */
const agreementsWithKeywaysKey = (key: string): string =>
  agreementsFolderWith([
    {
      agreement: 'keyways',
      from: '- [{ field: dateOfBirth }, { field: lastName }, { field: firstName, prefix: 3 }]',
      to: `- ${key}`,
    },
  ]);

describe('the name columns of a dataset whose agreement has a key lintel cannot run', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    // "First four letters of the last name and the whole first name": no rule of lintel's.
    h = await createImportHarness({
      agreementsDir: agreementsWithKeywaysKey(
        '[{ field: dateOfBirth }, { field: lastName, prefix: 4 }, { field: firstName }]',
      ),
    });
  });
  afterAll(async () => h.close());

  it('stores the first name as the given name and the last name as the family name', async () => {
    const outcome = await h.importFile(
      'kettering-borough-council/keyways-housing-register/a.csv',
      ['firstName,lastName,dateOfBirth,address', 'Testa,Sampleton,01/02/1990,"1 Example Row, Kettering"'].join('\n'),
    );
    expect(outcome.outcome).toBe('loaded');
    const rows = await h.store.db.selectFrom('source_record').select(['given_name', 'family_name', 'first3']).execute();
    expect(rows).toEqual([{ given_name: 'TESTA', family_name: 'SAMPLETON', first3: 'TES' }]);
  });
});

describe('the name columns a storage plan reads from the keys', () => {
  const keyways = loadAgreements(AGREEMENTS_DIR).agreement('keyways-housing-allocation')!.agreement;
  const dataset = keyways.datasets[0]!;
  const withKeys = (keys: { field: string; prefix?: number }[][]) =>
    keyways.matching.map((tier) => (tier.tier === 2 ? { ...tier, keys } : tier));

  it("take a runnable key's parts whatever the fields are called: the part cut to three letters is the given name", () => {
    const renamed = {
      ...dataset,
      fields: dataset.fields.map((f) =>
        f.name === 'firstName'
          ? { ...f, name: 'personalName' }
          : f.name === 'lastName'
            ? { ...f, name: 'clanName' }
            : f,
      ),
    };
    const plan = storagePlanFor(
      renamed,
      withKeys([[{ field: 'clanName' }, { field: 'dateOfBirth' }, { field: 'personalName', prefix: 3 }]]),
    );
    expect(plan).toMatchObject({ givenName: 'personalName', familyName: 'clanName', dateOfBirth: 'dateOfBirth' });
  });

  it('take nothing from a key cut to another length, as the engine runs none', () => {
    const plan = storagePlanFor(
      dataset,
      withKeys([
        [{ field: 'telephoneNumber', prefix: 6 }],
        [{ field: 'lastName', prefix: 4 }, { field: 'dateOfBirth' }],
      ]),
    );
    expect(plan).toMatchObject({ givenName: 'firstName', familyName: 'lastName', dateOfBirth: 'dateOfBirth' });
  });
});

describe('the storage plans of the shipped agreements', () => {
  it('put the same fields in the matching columns as before the plan read runnable keys', () => {
    const agreements = loadAgreements(AGREEMENTS_DIR);
    const plans = Object.fromEntries(
      agreements.all().flatMap(({ agreement }) =>
        agreement.datasets.map((dataset) => {
          const { identifiers, attributes, ...columns } = storagePlanFor(dataset, agreement.matching);
          return [dataset.id, { columns, identifiers: identifiers.map((i) => `${i.field}:${i.kind}`), attributes }];
        }),
      ),
    );
    const attributesOf = (id: string) =>
      agreements
        .all()
        .flatMap(({ agreement }) => agreement.datasets)
        .find((d) => d.id === id)!
        .fields.filter((f) => f.classification !== 'matching-only')
        .map((f) => f.name);
    // The three signed agreements' datasets as they were; an agreement added since (agreements/README.md)
    // has no plan from before to keep.
    expect(plans).toEqual(
      expect.objectContaining({
        'housing-first-participant-contacts': {
          columns: { fullName: 'name', address: 'address' },
          identifiers: ['caseReference:system-id:case-reference'],
          attributes: attributesOf('housing-first-participant-contacts'),
        },
        'keyways-housing-register': {
          columns: { dateOfBirth: 'dateOfBirth', givenName: 'firstName', familyName: 'lastName', address: 'address' },
          identifiers: ['nationalInsuranceNumber:ni'],
          attributes: attributesOf('keyways-housing-register'),
        },
        'multiple-disadvantage-indicators': {
          columns: {
            dateOfBirth: 'dateOfBirth',
            givenName: 'firstName',
            familyName: 'lastName',
            postcode: 'homePostcode',
            address: 'homeAddress',
          },
          identifiers: [
            'nationalInsuranceNumber:ni',
            'nhsNumber:nhs',
            'uniquePupilNumber:upn',
            'socialCareSystemId:system-id:social-care',
            'educationSystemId:system-id:education',
          ],
          attributes: attributesOf('multiple-disadvantage-indicators'),
        },
      }),
    );
  });
});
