import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgreementValidationError } from '../../../shared/agreements/agreement-issue.js';
import type { AgreementIssue } from '../../../shared/agreements/agreement-issue.js';
import { buildAgreementSet, loadAgreements, parseAgreement } from '../../../shared/agreements/load.js';
import {
  AGREEMENTS_DIR,
  AGREEMENT_FILES,
  AGREEMENT_FILE_NAMES,
  KNOWN_AGREEMENT_FILES,
  agreementFile,
  agreementText,
  changedAgreementText,
  rawAgreement,
} from './agreement-files.js';
import type { KnownAgreementName, RawAgreement } from './agreement-files.js';

const NOW = new Date('2026-03-01T12:00:00Z');

function issuesOf(action: () => unknown): readonly AgreementIssue[] {
  try {
    action();
  } catch (error) {
    if (error instanceof AgreementValidationError) return error.issues;
    throw error;
  }
  throw new Error('expected the agreement to be rejected');
}

describe('the agreement files', () => {
  it('are every agreement file in the folder, the three known ones among them', () => {
    expect(AGREEMENT_FILE_NAMES).toEqual(expect.arrayContaining(Object.values(KNOWN_AGREEMENT_FILES)));
    expect([...new Set(Object.values(AGREEMENT_FILES))].sort()).toEqual([...AGREEMENT_FILE_NAMES]);
  });

  it.each(Object.entries(AGREEMENT_FILES))('%s (%s) loads on its own', (name) => {
    const agreement = parseAgreement(agreementText(name), agreementFile(name), { now: NOW });
    expect(agreement.grants.length).toBeGreaterThan(0);
  });

  it('load together from the agreements folder, one agreement a file', () => {
    const set = loadAgreements(AGREEMENTS_DIR, { now: NOW });
    const ids = set
      .all()
      .map(({ agreement }) => agreement.id)
      .sort();
    expect(ids).toEqual(
      Object.keys(AGREEMENT_FILES)
        .map((name) => String(rawAgreement(name).id))
        .sort(),
    );
    expect(ids).toEqual(
      expect.arrayContaining(['housing-first-research', 'keyways-housing-allocation', 'social-care-education-housing']),
    );
  });

  it('warn, without failing, where the documents leave dates out', () => {
    const set = loadAgreements(AGREEMENTS_DIR, { now: NOW });
    const missingReview = set.warnings.filter(
      (warning) => warning.path === 'review.due' && /no review date recorded/.test(warning.message),
    );
    const withoutReviewDate = Object.keys(AGREEMENT_FILES)
      .filter((name) => rawAgreement(name).review?.due === null)
      .map(agreementFile);
    // None of the three known documents carries a review date in its text.
    expect(withoutReviewDate).toEqual(expect.arrayContaining(Object.values(KNOWN_AGREEMENT_FILES)));
    expect(missingReview.map((warning) => basename(warning.file)).sort()).toEqual(withoutReviewDate.sort());
  });
});

interface BrokenVariant {
  readonly name: string;
  readonly agreement: KnownAgreementName;
  readonly change: (agreement: RawAgreement) => void;
  readonly path: string;
  readonly message: RegExp;
}

/** The ISA's service-planning grant, its one `export` grant. */
const GRANT_OF_PLANNING_EXPORT = 3;

const BROKEN: readonly BrokenVariant[] = [
  {
    name: 'a delimiter declared for a party that is not a source of the dataset',
    agreement: 'keyways',
    change: (a) => (a.datasets[0].delimiters = { 'no-such-council': 'semicolon' }),
    path: 'datasets[0].delimiters',
    message: /only for a source of the dataset/,
  },
  {
    name: 'a delimiter it does not know',
    agreement: 'keyways',
    change: (a) => (a.datasets[0].delimiters = { 'kettering-borough-council': 'colon' }),
    path: 'datasets[0].delimiters.kettering-borough-council',
    message: /semicolon/,
  },
  {
    name: 'a grant to a role no party holds',
    agreement: 'keyways',
    change: (a) => (a.grants[0].roles = ['wizard']),
    path: 'grants[0].roles[0]',
    message: /role 'wizard', which no party of the agreement holds/,
  },
  {
    name: 'a grant to a role none of its parties holds',
    agreement: 'keyways',
    change: (a) => (a.grants[2].roles = ['rp-lettings', 'senior-officer']),
    path: 'grants[2].roles[1]',
    message: /role 'senior-officer', which none of the grant's parties holds/,
  },
  {
    name: 'a grant naming an unknown field',
    agreement: 'keyways',
    change: (a) => a.grants[0].fields.push('shoeSize'),
    path: 'grants[0].fields[12]',
    message: /unknown field 'shoeSize' of dataset 'keyways-housing-register'/,
  },
  {
    name: 'a grant naming an unknown dataset',
    agreement: 'keyways',
    change: (a) => (a.grants[0].dataset = 'council-tax'),
    path: 'grants[0].dataset',
    message: /unknown dataset 'council-tax'/,
  },
  {
    name: 'a grant naming an unknown purpose',
    agreement: 'keyways',
    change: (a) => (a.grants[0].purpose = 'marketing'),
    path: 'grants[0].purpose',
    message: /unknown purpose 'marketing'/,
  },
  {
    name: 'a grant naming an unknown party',
    agreement: 'keyways',
    change: (a) => (a.grants[2].parties = ['keyways-registered-providers', 'acme-lettings']),
    path: 'grants[2].parties[1]',
    message: /unknown party 'acme-lettings'/,
  },
  {
    name: 'a grant naming a party that holds none of its roles',
    agreement: 'isa',
    change: (a) => (a.grants[0].parties = ['la-housing', 'la-education']),
    path: 'grants[0].parties[1]',
    message: /party 'la-education' holds none of the grant's roles/,
  },
  {
    name: 'a matching-only identifier granted for display',
    agreement: 'isa',
    change: (a) => a.grants[0].fields.push('nhsNumber'),
    path: 'grants[0].fields[22]',
    message: /field 'nhsNumber' is matching-only and cannot be granted for display/,
  },
  {
    name: 'a matching-only identifier listed as special-category',
    agreement: 'isa',
    change: (a) => a.grants[0].specialCategoryFields.push('uniquePupilNumber'),
    path: 'grants[0].specialCategoryFields[4]',
    message: /field 'uniquePupilNumber' is matching-only/,
  },
  {
    name: 'an export counting a date of birth, which has a value per person',
    agreement: 'isa',
    change: (a) => a.grants[GRANT_OF_PLANNING_EXPORT].fields.push('dateOfBirth'),
    path: `grants[${GRANT_OF_PLANNING_EXPORT}].fields[13]`,
    message: /field 'dateOfBirth' is a date: an export counts people per value, and cannot count it/,
  },
  {
    name: 'an export counting an address, free text a household could be found by',
    agreement: 'isa',
    change: (a) => a.grants[GRANT_OF_PLANNING_EXPORT].fields.push('homeAddress'),
    path: `grants[${GRANT_OF_PLANNING_EXPORT}].fields[13]`,
    message: /field 'homeAddress' is free text: an export counts it only by the values listed under categories/,
  },
  {
    name: 'an export counting free text with no values listed to name',
    agreement: 'isa',
    change: (a) => delete a.grants[GRANT_OF_PLANNING_EXPORT].categories,
    path: `grants[${GRANT_OF_PLANNING_EXPORT}].fields[0]`,
    message: /field 'gender' is free text/,
  },
  {
    name: 'a second export grant of the same dataset, which would draw its noise twice',
    agreement: 'isa',
    change: (a) => a.grants.push({ ...a.grants[GRANT_OF_PLANNING_EXPORT], roles: ['dpo'] }),
    path: 'grants[4].actions',
    message: /a second export grant of dataset 'multiple-disadvantage-indicators'/,
  },
  {
    name: 'categories on a grant that exports nothing',
    agreement: 'isa',
    change: (a) => (a.grants[0].categories = { gender: ['Female'] }),
    path: 'grants[0].categories',
    message: /categories are for export grants/,
  },
  {
    name: 'categories for a field that is not free text',
    agreement: 'isa',
    change: (a) => (a.grants[GRANT_OF_PLANNING_EXPORT].categories.ehcp = ['Y']),
    path: `grants[${GRANT_OF_PLANNING_EXPORT}].categories.ehcp`,
    message: /categories given for 'ehcp', which is not a free-text field of the grant/,
  },
  {
    name: 'a special-category field hidden among display fields',
    agreement: 'isa',
    change: (a) => a.grants[2].fields.push('disabilities'),
    path: 'grants[2].fields[15]',
    message: /field 'disabilities' is special-category: list it under specialCategoryFields/,
  },
  {
    name: 'a display field listed as special-category',
    agreement: 'isa',
    change: (a) => a.grants[0].specialCategoryFields.push('gender'),
    path: 'grants[0].specialCategoryFields[4]',
    message: /field 'gender' is not special-category/,
  },
  {
    name: 'special-category fields for a purpose with no Art. 9 condition',
    agreement: 'keyways',
    change: (a) => (a.purposes[0].lawfulBasis.article9 = []),
    path: 'grants[0].specialCategoryFields',
    message: /special-category fields granted for purpose 'housing-allocation', which names no Art\. 9\(2\) condition/,
  },
  {
    name: 'a consent-required purpose without a consent source',
    agreement: 'housingFirst',
    change: (a) => delete a.purposes[0].consentSource,
    path: 'purposes[0].consentSource',
    message: /requires consent but names no consentSource/,
  },
  {
    name: 'a consent source whose party does not hold the recording role',
    agreement: 'housingFirst',
    change: (a) => (a.purposes[0].consentSource.roles = ['researcher']),
    path: 'purposes[0].consentSource.roles[0]',
    message: /role 'researcher' is not a role of party 'dudley-housing-options'/,
  },
  {
    name: 'a duplicate party id',
    agreement: 'keyways',
    change: (a) => (a.parties[1].id = 'kettering-borough-council'),
    path: 'parties[1].id',
    message: /duplicate party id 'kettering-borough-council'/,
  },
  {
    name: 'a duplicate purpose id',
    agreement: 'keyways',
    change: (a) => (a.purposes[1].id = 'housing-allocation'),
    path: 'purposes[1].id',
    message: /duplicate purpose id 'housing-allocation'/,
  },
  {
    name: 'a duplicate field name',
    agreement: 'isa',
    change: (a) => (a.datasets[0].fields[1].name = 'firstName'),
    path: 'datasets[0].fields[1].name',
    message: /duplicate field name 'firstName'/,
  },
  {
    name: 'a lawful basis that is not an Art. 6(1) basis',
    agreement: 'keyways',
    change: (a) => (a.purposes[0].lawfulBasis.article6 = ['6(1)(z)']),
    path: 'purposes[0].lawfulBasis.article6[0]',
    message: /Invalid option/,
  },
  {
    name: 'a misspelt key',
    agreement: 'keyways',
    change: (a) => {
      a.grants[0].feilds = a.grants[0].fields;
      delete a.grants[0].fields;
    },
    path: 'grants[0].feilds',
    message: /feilds/,
  },
  {
    name: 'an enum field without values',
    agreement: 'isa',
    change: (a) => (a.datasets[0].fields[3].type = 'enum'),
    path: 'datasets[0].fields[3].values',
    message: /enum fields need `values`/,
  },
  {
    name: 'a probabilistic matching tier that links without an officer',
    agreement: 'isa',
    change: (a) => (a.matching[4].confirmation = 'automatic'),
    path: 'matching[4].confirmation',
    message: /must be confirmed by an officer/,
  },
  {
    name: 'matching tiers out of order',
    agreement: 'isa',
    change: (a) => (a.matching[1].tier = 3),
    path: 'matching[1].tier',
    message: /expected 2, found 3/,
  },
  {
    name: 'a matching key on an unknown field',
    agreement: 'isa',
    change: (a) => (a.matching[3].keys[0][0].field = 'homePostCode'),
    path: 'matching[3].keys[0][0].field',
    message: /unknown field 'homePostCode'/,
  },
  {
    name: 'a retention rule for an unknown dataset',
    agreement: 'housingFirst',
    change: (a) => (a.retention[1].dataset = 'housing-first-outcomes'),
    path: 'retention[1].dataset',
    message: /unknown dataset 'housing-first-outcomes'/,
  },
  {
    name: 'a field source that does not supply the dataset',
    agreement: 'isa',
    change: (a) => (a.datasets[0].sources = ['la-housing', 'social-housing-providers']),
    path: 'datasets[0].fields[13].sources[0]',
    message: /source 'la-childrens-social-care', which is not a source of dataset 'multiple-disadvantage-indicators'/,
  },
  {
    name: 'an audit role no party holds',
    agreement: 'housingFirst',
    change: (a) => (a.audit.roles = ['auditor']),
    path: 'audit.roles[0]',
    message: /audit role 'auditor' is held by no party/,
  },
  {
    // Accepted silently before: the log was then open to no one of the party named, and with it
    // the only party named, the agreement's DPOs could answer no subject access request.
    name: 'an audit party holding none of the audit roles',
    agreement: 'housingFirst',
    change: (a) => (a.audit.parties = ['icf-research']),
    path: 'audit.parties[0]',
    message: /party 'icf-research' holds none of the audit's roles \(dpo\)/,
  },
];

describe('an invalid agreement', () => {
  it.each(BROKEN)('is rejected: $name', ({ agreement, change, path, message }) => {
    const fileName = `broken-${agreementFile(agreement)}`;
    const issues = issuesOf(() => parseAgreement(changedAgreementText(agreement, change), fileName, { now: NOW }));
    const issue = issues.find((found) => found.path === path);
    expect(issue, `issues found: ${JSON.stringify(issues)}`).toBeDefined();
    expect(issue?.file).toBe(fileName);
    expect(issue?.message).toMatch(message);
  });

  it('names the file, path and line in the thrown message', () => {
    const text = agreementText('isa').replace(
      '      - homeAddress\n',
      '      - homeAddress\n      - nationalInsuranceNumber\n',
    );
    let thrown: unknown;
    try {
      parseAgreement(text, 'agreements/isa.yaml', { now: NOW });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AgreementValidationError);
    const message = (thrown as Error).message;
    const line = text.split('\n').findIndex((l) => l === '      - nationalInsuranceNumber') + 1;
    expect(message).toContain(
      `agreements/isa.yaml: grants[0].fields[9] (line ${line}): field 'nationalInsuranceNumber' is matching-only`,
    );
  });

  // An officer's misspelt key was reported at the start of the block holding it ("(line 2)" for
  // a top-level key in a file of hundreds of lines), with no path to it.
  it.each([
    { where: 'at the top level', from: '\naudit:\n', to: '\naudti:\n', path: 'audti' },
    {
      where: "in a dataset's field",
      from: '        classification: display\n        required: false\n        description: Email.',
      to: '        clasification: display\n        required: false\n        description: Email.',
      path: 'datasets[0].fields[2].clasification',
    },
  ])('names a misspelt key $where by its path and its own line', ({ from, to, path }) => {
    const text = agreementText('housingFirst').replace(from, to);
    expect(text).not.toBe(agreementText('housingFirst'));
    const key = path.split('.').at(-1)!;
    const line = text.split('\n').findIndex((l) => l.trimStart().startsWith(`${key}:`)) + 1;
    const issues = issuesOf(() => parseAgreement(text, 'agreements/hf.yaml', { now: NOW }));
    expect(issues).toContainEqual({
      file: 'agreements/hf.yaml',
      path,
      line,
      message: `unknown key '${key}': lintel reads no such key here (misspelt?)`,
    });
  });

  // A purpose left without its lawful basis was "Invalid input: expected object, received
  // undefined", and a field without its classification "Invalid option: expected one of ...", as if
  // a value given were wrong.
  it.each([
    {
      what: "a purpose's lawful basis",
      change: (a: RawAgreement) => delete a.purposes[0].lawfulBasis,
      path: 'purposes[0].lawfulBasis',
    },
    {
      what: "a field's classification",
      change: (a: RawAgreement) => delete a.datasets[0].fields[1].classification,
      path: 'datasets[0].fields[1].classification',
    },
    { what: 'the review block', change: (a: RawAgreement) => delete a.review, path: 'review' },
  ])('says $what left out is missing', ({ change, path }) => {
    const issues = issuesOf(() =>
      parseAgreement(changedAgreementText('housingFirst', change), 'agreements/hf.yaml', { now: NOW }),
    );
    const key = path.split('.').at(-1)!;
    expect(issues.map(({ path, message }) => ({ path, message }))).toEqual([
      { path, message: `required key '${key}' is missing` },
    ]);
  });

  it('that is not YAML at all is rejected with the file named', () => {
    const issues = issuesOf(() => parseAgreement('id: [unclosed', 'agreements/garbled.yaml'));
    expect(issues[0]?.file).toBe('agreements/garbled.yaml');
    expect(issues[0]?.message).toMatch(/not valid YAML\/JSON/);
  });
});

describe('agreements loaded together', () => {
  const text = (name: KnownAgreementName, change: (a: RawAgreement) => void = () => undefined) =>
    changedAgreementText(name, change);

  it('reject a dataset id used by two agreements, on the line of the second one', () => {
    const second = text('housingFirst', (a) => {
      a.datasets[0].id = 'keyways-housing-register';
      a.grants[0].dataset = 'keyways-housing-register';
      a.retention.forEach((rule: RawAgreement) => (rule.dataset = 'keyways-housing-register'));
    });
    const issues = issuesOf(() =>
      buildAgreementSet(
        [
          { fileName: 'a.yaml', text: text('keyways') },
          { fileName: 'b.yaml', text: second },
        ],
        { now: NOW },
      ),
    );
    // The check across files places its issue as a file's own checks do: at the key's line.
    const idLine = second.split('\n').findIndex((line) => /^\s*(- )?id: keyways-housing-register$/.test(line)) + 1;
    expect(idLine).toBeGreaterThan(0);
    expect(issues).toContainEqual(
      expect.objectContaining({
        file: 'b.yaml',
        path: 'datasets[0].id',
        line: idLine,
        message: expect.stringMatching(/already defined in a\.yaml/),
      }),
    );
  });

  it('reject a purpose id used by two agreements, since X-Purpose must name one agreement', () => {
    const issues = issuesOf(() =>
      buildAgreementSet(
        [
          { fileName: 'a.yaml', text: text('keyways') },
          {
            fileName: 'b.yaml',
            text: text('housingFirst', (a) => {
              a.purposes[0].id = 'housing-allocation';
              a.grants[0].purpose = 'housing-allocation';
            }),
          },
        ],
        { now: NOW },
      ),
    );
    expect(issues).toContainEqual(expect.objectContaining({ file: 'b.yaml', path: 'purposes[0].id' }));
  });

  it("name the agreement defining a purpose a grant names from another agreement's file", () => {
    const issues = issuesOf(() =>
      buildAgreementSet(
        [
          { fileName: 'a.yaml', text: text('keyways') },
          { fileName: 'b.yaml', text: text('housingFirst', (a) => (a.grants[0].purpose = 'housing-allocation')) },
        ],
        { now: NOW },
      ),
    );
    expect(issues).toContainEqual({
      file: 'b.yaml',
      path: 'grants[0].purpose',
      line: expect.any(Number),
      message:
        "purpose 'housing-allocation' is defined in agreement 'keyways-housing-allocation'; a grant may name only its own agreement's purposes",
    });
  });

  it('reject one party id defined as two different organisations', () => {
    const issues = issuesOf(() =>
      buildAgreementSet(
        [
          { fileName: 'a.yaml', text: text('keyways') },
          {
            fileName: 'b.yaml',
            text: text(
              'housingFirst',
              (a) => (
                (a.parties[1].id = 'keyways-registered-providers'),
                (a.grants[0].parties = ['keyways-registered-providers']),
                (a.controllers[2].party = 'keyways-registered-providers')
              ),
            ),
          },
        ],
        { now: NOW },
      ),
    );
    expect(issues).toContainEqual(
      expect.objectContaining({
        file: 'b.yaml',
        path: 'parties[1]',
        message: expect.stringMatching(/different name or kind/),
      }),
    );
  });

  it('reject the same agreement loaded twice', () => {
    const issues = issuesOf(() =>
      buildAgreementSet(
        [
          { fileName: 'a.yaml', text: text('keyways') },
          { fileName: 'copy.yaml', text: text('keyways') },
        ],
        { now: NOW },
      ),
    );
    expect(issues).toContainEqual(
      expect.objectContaining({
        file: 'copy.yaml',
        path: 'id',
        message: expect.stringMatching(/agreement id 'keyways-housing-allocation'/),
      }),
    );
  });

  it('warn, not fail, when a review date has passed', () => {
    const set = buildAgreementSet(
      [{ fileName: 'a.yaml', text: text('keyways', (a) => (a.review.due = '2025-06-30')) }],
      { now: NOW },
    );
    expect(set.warnings).toContainEqual(
      expect.objectContaining({ file: 'a.yaml', path: 'review.due', message: 'review was due on 2025-06-30' }),
    );
  });

  it('warn that a review date has passed from the first minute of the next day in the UK', () => {
    // 00:30 BST on 1 July is 23:30 UTC on 30 June: the review due on 30 June is overdue.
    const dueOn = (due: string, now: string) =>
      buildAgreementSet([{ fileName: 'a.yaml', text: text('keyways', (a) => (a.review.due = due)) }], {
        now: new Date(now),
      }).warnings.filter((warning) => warning.path === 'review.due');
    expect(dueOn('2026-06-30', '2026-06-30T23:30:00Z')).toEqual([
      expect.objectContaining({ message: 'review was due on 2026-06-30' }),
    ]);
    expect(dueOn('2026-06-30', '2026-06-30T22:30:00Z')).toEqual([]);
  });

  it('warn when the next review is further away than the review cycle the agreement asks for', () => {
    // Keyways s.9 "reviewed annually"; the ISA's "no less frequently than on an annual basis":
    // a next review entered three years out would go unwarned until 2029.
    const reviewWarnings = (due: string) =>
      buildAgreementSet([{ fileName: 'a.yaml', text: text('keyways', (a) => (a.review.due = due)) }], {
        now: NOW,
      }).warnings.filter((warning) => warning.path === 'review.due');
    expect(reviewWarnings('2029-03-01')).toEqual([
      expect.objectContaining({
        file: 'a.yaml',
        message:
          'review due on 2029-03-01 is more than one review cycle (P1Y) away: the agreement is reviewed at least every P1Y',
      }),
    ]);
    // A review held today sets the next one a cycle away: that is not warned about.
    expect(reviewWarnings('2027-03-01')).toEqual([]);
    expect(reviewWarnings('2027-03-02')).toHaveLength(1);
  });

  it('warn that a joint-system retention period without a condition is not enforced', () => {
    const set = buildAgreementSet(
      [{ fileName: 'a.yaml', text: text('keyways', (a) => (a.retention[0].period = 'P2Y')) }],
      { now: NOW },
    );
    expect(set.warnings).toContainEqual(
      expect.objectContaining({
        file: 'a.yaml',
        path: 'retention[0].rule',
        message: expect.stringMatching(/states a period \(P2Y\) and no condition: lintel enforces conditions only/),
      }),
    );
  });

  it('do not warn about a review date still to come', () => {
    const set = buildAgreementSet(
      [{ fileName: 'a.yaml', text: text('keyways', (a) => (a.review.due = '2026-06-30')) }],
      { now: NOW },
    );
    expect(set.warnings.filter((warning) => warning.path === 'review.due')).toEqual([]);
  });
});

describe('loadAgreements', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads JSON agreements as well as YAML, and ignores other files', () => {
    dir = mkdtempSync(join(tmpdir(), 'lintel-agreements-'));
    writeFileSync(join(dir, 'keyways.yml'), agreementText('keyways'));
    // An empty JSON object: it must be read, and rejected by the schema.
    writeFileSync(join(dir, 'housing-first.json'), '{}');
    writeFileSync(join(dir, 'README.md'), '# not an agreement');
    const issues = issuesOf(() => loadAgreements(dir!, { now: NOW }));
    expect(issues.every((issue) => issue.file.endsWith('housing-first.json'))).toBe(true);
    expect(issues.map((issue) => issue.path)).toContain('id');
  });

  it('loads a valid JSON agreement, and a YAML one named .yml', async () => {
    const { parse } = await import('yaml');
    dir = mkdtempSync(join(tmpdir(), 'lintel-agreements-'));
    writeFileSync(join(dir, 'housing-first.json'), JSON.stringify(parse(agreementText('housingFirst')), null, 2));
    writeFileSync(join(dir, 'keyways.yml'), agreementText('keyways'));
    const set = loadAgreements(dir, { now: NOW });
    expect(set.agreement('housing-first-research')?.file).toBe(join(dir, 'housing-first.json'));
    expect(set.agreement('keyways-housing-allocation')?.file).toBe(join(dir, 'keyways.yml'));
  });

  it('fails when the folder holds no agreement', () => {
    dir = mkdtempSync(join(tmpdir(), 'lintel-agreements-'));
    const issues = issuesOf(() => loadAgreements(dir!));
    expect(issues[0]?.message).toMatch(/no agreement files/);
  });
});
