/**
 * The real agreement files, for tests that load every one of them and for tests that start from
 * one and change one thing. The list is read from the folder, so a new agreement file is loaded
 * and checked without a change here.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const AGREEMENTS_DIR = fileURLToPath(new URL('../../../agreements/', import.meta.url));

/** The files shared/agreements/load.ts reads: `*.yaml`, `*.yml` and `*.json`, not subfolders. */
const AGREEMENT_FILE = /\.(ya?ml|json)$/i;

/** Every agreement file in the folder, in the order the loader reads them. */
export const AGREEMENT_FILE_NAMES: readonly string[] = readdirSync(AGREEMENTS_DIR, { withFileTypes: true })
  .filter((entry) => entry.isFile() && AGREEMENT_FILE.test(entry.name))
  .map((entry) => entry.name)
  .sort();

/** The three agreements the tests know by name, to change one thing in them. */
export const KNOWN_AGREEMENT_FILES = {
  keyways: 'keyways-housing-allocation.yaml',
  isa: 'social-care-education-housing.yaml',
  housingFirst: 'housing-first-research.yaml',
} as const;

export type KnownAgreementName = keyof typeof KNOWN_AGREEMENT_FILES;

/** A key of AGREEMENT_FILES: a known agreement's short name, or any other agreement file's own name. */
export type AgreementName = string;

const knownFileNames: readonly string[] = Object.values(KNOWN_AGREEMENT_FILES);

/**
 * Every agreement file in the folder, by name: the known three under their short names, any
 * other under its file name. Iterating it covers the whole folder.
 */
export const AGREEMENT_FILES: Readonly<Record<KnownAgreementName, string> & Record<string, string>> = {
  ...Object.fromEntries(AGREEMENT_FILE_NAMES.filter((f) => !knownFileNames.includes(f)).map((f) => [f, f])),
  ...KNOWN_AGREEMENT_FILES,
};

/** The file name behind an agreement name. */
export function agreementFile(name: AgreementName): string {
  const file = AGREEMENT_FILES[name];
  if (file === undefined) throw new Error(`no agreement file named ${name}`);
  return file;
}

export function agreementText(name: AgreementName): string {
  return readFileSync(`${AGREEMENTS_DIR}${agreementFile(name)}`, 'utf8');
}

/** The agreement as plain data, straight from YAML: no schema, no defaults. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RawAgreement = any;

export function rawAgreement(name: AgreementName): RawAgreement {
  return parse(agreementText(name));
}

/** The agreement's text after `change` has been applied to its data. */
export function changedAgreementText(name: AgreementName, change: (agreement: RawAgreement) => void): string {
  const agreement = rawAgreement(name);
  change(agreement);
  return stringify(agreement);
}

/** One change to an agreement file's text: `from` must stand in it exactly once, or with `all` at least once. */
export interface AgreementTextEdit {
  agreement: AgreementName;
  from: string;
  to: string;
  /** Replace every occurrence. */
  all?: boolean;
}

/**
 * The agreement re-signed with an id (a purpose's or a dataset's) renamed everywhere the file
 * names it: its definition, and the grants and retention rules that name it go with it, as a
 * re-signing for a follow-up study would have them. The old id is then one no agreement defines.
 */
export function renamedIn(agreement: AgreementName, from: string, to: string): AgreementTextEdit {
  return { agreement, from, to, all: true };
}

/**
 * The Keyways DSA's fraud check taken to be a purpose the national data opt-out applies to, so
 * that a DPO of a party signing it too may write and withdraw opt-outs under it.
 */
export const KEYWAYS_FRAUD_CHECK_OPT_OUT_APPLIES: AgreementTextEdit = {
  agreement: 'keyways',
  from: '    nationalDataOptOutApplies: false\n',
  to: '    nationalDataOptOutApplies: true\n',
};

/**
 * The Keyways DSA re-signed with Wellingborough no longer supplying the housing register: a former
 * source, whose loaded records stay in the store.
 */
export const KEYWAYS_REGISTER_WITHOUT_WELLINGBOROUGH: AgreementTextEdit = {
  agreement: 'keyways',
  from: 'sources: [kettering-borough-council, corby-borough-council, wellingborough-borough-council]',
  to: 'sources: [kettering-borough-council, corby-borough-council]',
};

/**
 * The Keyways DSA re-signed with its matching alone changed: no national insurance number tier
 * (the probabilistic tier renumbered after it), its version as it was. Two applicants joined by
 * their NI number alone are two people under it.
 */
export const KEYWAYS_MATCHING_WITHOUT_NI_TIER: readonly AgreementTextEdit[] = [
  {
    agreement: 'keyways',
    from: [
      '  - tier: 1',
      '    name: National insurance number',
      '    method: deterministic',
      '    keys:',
      '      - [{ field: nationalInsuranceNumber }]',
      '    confirmation: automatic',
      '    source: not stated in the DSA; s.4 identification details',
      '  - tier: 2',
      '',
    ].join('\n'),
    to: '  - tier: 1\n',
  },
  {
    agreement: 'keyways',
    from: '  - tier: 3\n    name: Probabilistic',
    to: '  - tier: 2\n    name: Probabilistic',
  },
];

/**
 * The research agreement re-signed without Dudley (the agreement goes on): ICF takes the
 * participants' consents at interview, supplies their contact details itself, and audits it.
 */
export const HOUSING_FIRST_WITHOUT_DUDLEY: readonly AgreementTextEdit[] = [
  {
    agreement: 'housingFirst',
    from: '    party: dudley-housing-options\n    role: controller\n',
    to: '    role: controller\n',
  },
  {
    agreement: 'housingFirst',
    from: '  - id: dudley-housing-options\n    name: Dudley Metropolitan Borough Council - Housing Options and Support\n    kind: council\n    roles: [housing-officer, dpo]\n',
    to: '',
  },
  {
    agreement: 'housingFirst',
    from: '    kind: research\n    roles: [researcher]\n',
    to: '    kind: research\n    roles: [researcher, dpo]\n',
  },
  {
    agreement: 'housingFirst',
    from: '      party: dudley-housing-options\n      roles: [housing-officer]\n',
    to: '      party: icf-research\n      roles: [researcher]\n',
  },
  { agreement: 'housingFirst', from: '    sources: [dudley-housing-options]\n', to: '    sources: [icf-research]\n' },
];

/** The Keyways party the signing parties are listed after in the re-signed file. */
const KEYWAYS_LAST_PARTY =
  '    name: Borough Council of Wellingborough\n    kind: council\n    roles: [housing-officer, senior-officer, dpo]\n';

/**
 * The Keyways DSA signed by a party of another agreement too, with `roles` in it (its DPO stays
 * Kettering's unless `dpo` is among them): for tests of whose business an entry is when a party
 * signs two agreements. The party is named as the agreement it signs already names it.
 */
export function keywaysAlsoSignedBy(partyId: string, roles: readonly string[]): AgreementTextEdit {
  return { agreement: 'keyways', from: KEYWAYS_LAST_PARTY, to: KEYWAYS_LAST_PARTY + partyEntry(partyId, roles) };
}

/** The roles line of the Housing First agreement's first party (Dudley), after which another is added. */
const HOUSING_FIRST_FIRST_PARTY_ROLES = '    roles: [housing-officer, dpo]\n';

/**
 * The Housing First agreement signed by a party of another agreement too, as its DPO alone: for
 * tests of whose business a DPO's reading is when the DPO's party audits two agreements.
 */
export function housingFirstAlsoAuditedBy(partyId: string): AgreementTextEdit {
  return {
    agreement: 'housingFirst',
    from: HOUSING_FIRST_FIRST_PARTY_ROLES,
    to: HOUSING_FIRST_FIRST_PARTY_ROLES + partyEntry(partyId, ['dpo']),
  };
}

/** A party's entry in an agreement's `parties`, named as the agreement it signs already names it. */
function partyEntry(partyId: string, roles: readonly string[]): string {
  const party = Object.keys(AGREEMENT_FILES)
    .flatMap((name) => (rawAgreement(name).parties ?? []) as { id: string; name: string; kind: string }[])
    .find((p) => p.id === partyId);
  if (party === undefined) throw new Error(`no agreement names the party ${partyId}`);
  return `  - id: ${party.id}\n    name: ${party.name}\n    kind: ${party.kind}\n    roles: [${roles.join(', ')}]\n`;
}

/**
 * A copy of the agreements folder with `edits` made to the files' text, for a test host's
 * AGREEMENTS_DIR. Text, not parsed YAML (changedAgreementText), so the source quotes and comments
 * the loader checks stay as the real file has them.
 */
export function agreementsFolderWith(edits: readonly AgreementTextEdit[]): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'lintel-agreements-')), 'agreements');
  cpSync(AGREEMENTS_DIR, dir, { recursive: true });
  for (const { agreement, from, to, all } of edits) {
    const path = join(dir, agreementFile(agreement));
    const text = readFileSync(path, 'utf8');
    const occurrences = text.split(from).length - 1;
    if (all ? occurrences === 0 : occurrences !== 1)
      throw new Error(`${agreementFile(agreement)} must hold ${all ? 'at least' : 'exactly'} once: ${from}`);
    writeFileSync(path, all ? text.replaceAll(from, () => to) : text.replace(from, () => to));
  }
  return dir;
}

/**
 * A small agreement written by following agreements/README.md's "Adding a new agreement" (one
 * source party, one registered provider receiving some of its fields for one purpose), kept with
 * the test fixtures rather than in agreements/, as it was signed by nobody.
 */
export const ADDED_AGREEMENT_FILE = fileURLToPath(
  new URL('../../fixtures/agreements/tenancy-sustainment.yaml', import.meta.url),
);

/** A copy of the agreements folder with {@link ADDED_AGREEMENT_FILE} added to it, as the README adds one. */
export function agreementsFolderWithAdded(): string {
  const dir = agreementsFolderWith([]);
  cpSync(ADDED_AGREEMENT_FILE, join(dir, 'tenancy-sustainment.yaml'));
  return dir;
}

/**
 * A copy of the agreements folder without the `removed` agreements' files (an agreement ended,
 * not re-signed), and with `edits` made to the others, as {@link agreementsFolderWith}.
 */
export function agreementsFolderWithout(
  removed: readonly AgreementName[],
  edits: readonly AgreementTextEdit[] = [],
): string {
  const dir = agreementsFolderWith(edits);
  for (const name of removed) rmSync(join(dir, agreementFile(name)));
  return dir;
}

/** The agreement {@link agreementsFolderWithKeywaysRegisterMoved} moves the Keyways register into. */
export const KEYWAYS_SUCCESSOR = 'north-northamptonshire-housing-allocation';

/**
 * The Keyways register moved to another agreement at a re-signing: the Keyways DSA re-signed with
 * its register replaced (renamed), and {@link KEYWAYS_SUCCESSOR} — the DSA's text under its own id
 * and purposes (`nn-housing-allocation`, `nn-fraud-prevention`), the same parties, roles, grants
 * and matching — defining `keyways-housing-register`. A copy of the agreements folder, as
 * {@link agreementsFolderWith}.
 */
export function agreementsFolderWithKeywaysRegisterMoved(): string {
  const dir = agreementsFolderWith([renamedIn('keyways', 'keyways-housing-register', 'keyways-housing-register-2027')]);
  const successor = agreementText('keyways')
    .replace('id: keyways-housing-allocation\n', `id: ${KEYWAYS_SUCCESSOR}\n`)
    .replace('title: Housing Allocation (Keyways) Data Sharing Agreement\n', 'title: North Northamptonshire DSA\n')
    .replaceAll('- id: housing-allocation\n', '- id: nn-housing-allocation\n')
    .replaceAll('purpose: housing-allocation\n', 'purpose: nn-housing-allocation\n')
    .replaceAll('- id: fraud-prevention\n', '- id: nn-fraud-prevention\n')
    .replaceAll('purpose: fraud-prevention\n', 'purpose: nn-fraud-prevention\n');
  writeFileSync(join(dir, `${KEYWAYS_SUCCESSOR}.yaml`), successor);
  return dir;
}

/** The agreement {@link agreementsFolderWithIsaIndicatorsMoved} moves the ISA's indicators dataset into. */
export const ISA_SUCCESSOR = 'kent-multiple-disadvantage-sharing';

/**
 * The ISA's `multiple-disadvantage-indicators` moved to another agreement at a re-signing: the ISA
 * re-signed with the dataset replaced (renamed), and {@link ISA_SUCCESSOR} — the ISA's text under
 * its own id and purposes, defining the dataset with the same sources, rules and matching. A copy
 * of the agreements folder, as {@link agreementsFolderWith}.
 */
export function agreementsFolderWithIsaIndicatorsMoved(): string {
  const dir = agreementsFolderWith([
    renamedIn('isa', 'multiple-disadvantage-indicators', 'multiple-disadvantage-indicators-2027'),
  ]);
  let successor = agreementText('isa').replace('id: social-care-education-housing\n', `id: ${ISA_SUCCESSOR}\n`);
  for (const purpose of ['homelessness-prevention', 'tenancy-sustainment', 'service-planning'])
    successor = successor
      .replaceAll(`- id: ${purpose}\n`, `- id: kmd-${purpose}\n`)
      .replaceAll(`purpose: ${purpose}\n`, `purpose: kmd-${purpose}\n`);
  writeFileSync(join(dir, `${ISA_SUCCESSOR}.yaml`), successor);
  return dir;
}
