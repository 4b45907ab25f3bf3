/** The real agreement files, for tests that start from them and change one thing. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const AGREEMENTS_DIR = fileURLToPath(new URL('../../../agreements/', import.meta.url));

export const AGREEMENT_FILES = {
  keyways: 'keyways-housing-allocation.yaml',
  isa: 'social-care-education-housing.yaml',
  housingFirst: 'housing-first-research.yaml',
} as const;

export type AgreementName = keyof typeof AGREEMENT_FILES;

export function agreementText(name: AgreementName): string {
  return readFileSync(`${AGREEMENTS_DIR}${AGREEMENT_FILES[name]}`, 'utf8');
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
