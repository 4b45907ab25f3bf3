import type { Dataset, Field, MatchKeyPart, MatchingTier } from '../agreements/schema.js';
import { matchingPostcode, postcodeAtEndOf } from '../domain/identifiers.js';
import { firstThree, matchingGivenName, normaliseName } from '../domain/normalise.js';
import type { PseudonymKind } from '../domain/pseudonymise.js';
import type { CanonicalValue } from './field-codecs.js';
import type { RowReason } from './reasons.js';

/**
 * Where each field of a dataset goes in the store. Read from the agreement, not hard-coded per
 * dataset:
 *
 * - Identifier fields, by type: `nhs-number` → kind `nhs`, `upn` → `upn`, `ni-number` → `ni`
 *   (the eight characters without the suffix), `system-id` → `system-id:<system>`, the system
 *   named after the field (`socialCareSystemId` → `social-care`, `educationSystemId` →
 *   `education`, `caseReference` → `case-reference`). Each is stored only as a keyed HMAC in
 *   `record_identifier`.
 * - The normalised matching columns of `source_record`, from the keys of the agreement's
 *   matching tiers that lintel can run, read by `namesKeyOf` (the same reading the linking
 *   rules run by): the date of birth or postcode, the family name and the given name (its first
 *   three letters go to `first3`; a placeholder such as "Baby" or "Unknown" is none). A key
 *   lintel cannot run fills no column. Where the runnable keys say nothing (a dataset matched on
 *   a case reference alone), conventional field names are used: firstName/givenName/forename,
 *   lastName/familyName/surname, dateOfBirth, homePostcode/postcode, homeAddress/address, and
 *   a single `name`/`fullName` split into its first and last word. Without a postcode field,
 *   the postcode an address ends with is the matching postcode. An NHS pseudo-postcode (ZZ99
 *   3VZ, no fixed abode) is no matching postcode, nor a forces one (BFPO 61): the column is null,
 *   as for a row without one, while the attributes keep it to show (identifiers.ts,
 *   `matchingPostcode`).
 * - `attributes`: every field that is not matching-only (display and special-category), in
 *   canonical form (stored as shared/store/record-attributes.ts says). Matching-only values
 *   never reach it.
 */
export interface StoragePlan {
  readonly givenName?: string;
  readonly familyName?: string;
  readonly fullName?: string;
  readonly dateOfBirth?: string;
  readonly postcode?: string;
  readonly address?: string;
  readonly identifiers: readonly {
    readonly field: string;
    readonly kind: PseudonymKind;
    readonly type: Field['type'];
  }[];
  readonly attributes: readonly string[];
}

const CONVENTIONS = {
  givenName: ['firstName', 'givenName', 'forename', 'firstNames'],
  familyName: ['lastName', 'familyName', 'surname'],
  fullName: ['name', 'fullName'],
  dateOfBirth: ['dateOfBirth', 'dob', 'birthDate'],
  postcode: ['homePostcode', 'postcode'],
  address: ['homeAddress', 'address'],
} as const;

/** `socialCareSystemId` → `social-care`: the issuing system, as a pseudonym kind suffix. */
export function systemOfField(fieldName: string): string {
  const stem = fieldName.replace(/(System)?Id$/, '') || fieldName;
  return stem.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** The pseudonym kind an identifier field is stored under; undefined for any other field. */
export function identifierKind(field: Field): PseudonymKind | undefined {
  switch (field.type) {
    case 'nhs-number':
      return 'nhs';
    case 'upn':
      return 'upn';
    case 'ni-number':
      return 'ni';
    case 'system-id':
      return `system-id:${systemOfField(field.name)}`;
    default:
      return undefined;
  }
}

/** The letters of the given name the engine's names rules compare (the `first3` column). */
export const GIVEN_NAME_PREFIX = 3;

/** The matching column a field fills when it is part of a key the names rules run. */
export type NamesKeyRole = 'dateOfBirth' | 'postcode' | 'familyName' | 'givenName';

/** A key the engine runs as `dob-name` or `postcode-name`, with the field that plays each part. */
export interface NamesKey {
  readonly rule: 'dob-name' | 'postcode-name';
  readonly fields: ReadonlyMap<NamesKeyRole, string>;
}

/** The CONVENTIONS column a field's name is listed under, if any. */
function conventionalColumnOf(fieldName: string): keyof typeof CONVENTIONS | undefined {
  for (const [column, names] of Object.entries(CONVENTIONS) as [keyof typeof CONVENTIONS, readonly string[]][])
    if (names.includes(fieldName)) return column;
  return undefined;
}

/**
 * What a part of a names key is, or undefined for no part of one. Where the field name is a
 * conventional one, the name decides (a `lastName` with a prefix is a last name cut short, not
 * a first name); otherwise a text part with a prefix is the given name, one without the family
 * name. A text field the conventions give another column (an address, a full name) is neither.
 */
function namesKeyRoleOf(part: MatchKeyPart, field: Field | undefined): NamesKeyRole | undefined {
  if (field?.type === 'date') return 'dateOfBirth';
  if (field?.type === 'postcode') return 'postcode';
  if (field?.type !== 'string') return undefined;
  const column = conventionalColumnOf(field.name);
  if (column === 'givenName' || column === 'familyName') return column;
  if (column !== undefined) return undefined;
  return part.prefix === undefined ? 'familyName' : 'givenName';
}

/**
 * The one reading of which field plays which part in a key the engine's names rules can run:
 * exactly a date of birth (or a postcode), a family name and a given name, the given name cut
 * to GIVEN_NAME_PREFIX letters and nothing else cut. Undefined for any other key. The storage
 * plan fills its columns from it and the linking rules run by it, so a key lintel cannot run
 * moves no column.
 */
export function namesKeyOf(
  key: readonly MatchKeyPart[],
  fieldOf: (name: string) => Field | undefined,
): NamesKey | undefined {
  if (key.length !== 3) return undefined;
  const fields = new Map<NamesKeyRole, string>();
  for (const part of key) {
    const role = namesKeyRoleOf(part, fieldOf(part.field));
    if (role === undefined || fields.has(role)) return undefined;
    if (part.prefix !== (role === 'givenName' ? GIVEN_NAME_PREFIX : undefined)) return undefined;
    fields.set(role, part.field);
  }
  if (!fields.has('familyName') || !fields.has('givenName')) return undefined;
  return { rule: fields.has('dateOfBirth') ? 'dob-name' : 'postcode-name', fields };
}

export function storagePlanFor(dataset: Dataset, matching: readonly MatchingTier[]): StoragePlan {
  const fields = new Map(dataset.fields.map((f) => [f.name, f]));
  const plan: { -readonly [K in keyof StoragePlan]: StoragePlan[K] } = { identifiers: [], attributes: [] };
  for (const tier of matching) {
    for (const key of tier.keys) {
      const names = namesKeyOf(key, (name) => fields.get(name));
      for (const [role, field] of names?.fields ?? []) plan[role] ??= field;
    }
  }
  for (const [column, names] of Object.entries(CONVENTIONS) as [keyof typeof CONVENTIONS, readonly string[]][]) {
    if (plan[column] !== undefined) continue;
    const found = names.find((n) => fields.has(n) && !Object.values(plan).includes(n));
    if (found !== undefined) plan[column] = found;
  }
  if (plan.givenName !== undefined || plan.familyName !== undefined) delete plan.fullName;
  plan.identifiers = dataset.fields.flatMap((f) => {
    const kind = identifierKind(f);
    return kind === undefined ? [] : [{ field: f.name, kind, type: f.type }];
  });
  plan.attributes = dataset.fields.filter((f) => f.classification !== 'matching-only').map((f) => f.name);
  return plan;
}

/** The columns of `source_record` that carry a row's matching values. */
export interface MatchingColumns {
  given_name: string | null;
  family_name: string | null;
  first3: string | null;
  date_of_birth: string | null;
  postcode: string | null;
  address: string | null;
}

/** Column widths of 0003-records: a longer value would fail the whole transaction on Azure SQL. */
const NAME_MAX = 200;
const ADDRESS_MAX = 400;

/** Builds matching columns from a row's canonical values, by field name. */
export function matchingColumnsOf(
  plan: StoragePlan,
  value: (field: string | undefined) => CanonicalValue | null,
): { ok: true; columns: MatchingColumns } | { ok: false; field: string; reason: RowReason } {
  let given = text(value(plan.givenName));
  let family = text(value(plan.familyName));
  if (plan.fullName !== undefined) {
    const words = (text(value(plan.fullName)) ?? '')
      .trim()
      .split(/\s+/)
      .filter((w) => w.length > 0);
    if (words.length > 0) {
      family = words[words.length - 1]!;
      given = words.length > 1 ? words[0]! : null;
    }
  }
  // "Baby", "Unknown": no given name to match on (normalise.ts, matchingGivenName); the attributes keep it to show.
  const givenNormal = given === null ? null : matchingGivenName(normaliseName(given)) || null;
  const familyNormal = family === null ? null : normaliseName(family) || null;
  const nameField = plan.fullName ?? plan.givenName ?? '';
  if (givenNormal !== null && givenNormal.length > NAME_MAX)
    return { ok: false, field: nameField, reason: 'value-too-long' };
  if (familyNormal !== null && familyNormal.length > NAME_MAX) {
    return { ok: false, field: plan.fullName ?? plan.familyName ?? '', reason: 'value-too-long' };
  }
  const address = text(value(plan.address));
  const addressNormal = address === null ? null : normaliseName(address) || null;
  if (addressNormal !== null && addressNormal.length > ADDRESS_MAX)
    return { ok: false, field: plan.address ?? '', reason: 'value-too-long' };
  // firstThree normalises again; handing it the normal form takes its fast path.
  const three = givenNormal === null ? '' : firstThree(givenNormal);
  return {
    ok: true,
    columns: {
      given_name: givenNormal,
      family_name: familyNormal,
      first3: three === '' || three.length > 3 ? null : three,
      date_of_birth: text(value(plan.dateOfBirth)),
      postcode: matchingPostcodeOf(plan, value, address),
      address: addressNormal,
    },
  };
}

/**
 * A dataset with an address and no postcode field (Housing First's contact details) is found by
 * postcode and names too: the address's own postcode stands in. Either way a pseudo-postcode is
 * none: matched on, it would join everyone of no fixed abode who shares a name; nor is a forces
 * postcode (BFPO 61), which would join a whole unit's namesakes.
 */
function matchingPostcodeOf(
  plan: StoragePlan,
  value: (field: string | undefined) => CanonicalValue | null,
  address: string | null,
): string | null {
  const postcode =
    plan.postcode !== undefined ? text(value(plan.postcode)) : address === null ? null : postcodeAtEndOf(address);
  return postcode === null ? null : matchingPostcode(postcode);
}

function text(v: CanonicalValue | null): string | null {
  return typeof v === 'string' ? v : null;
}
