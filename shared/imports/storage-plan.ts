import type { Dataset, Field, MatchingTier } from '../agreements/schema.js';
import { matchingPostcode, postcodeAtEndOf } from '../domain/identifiers.js';
import { firstThree, normaliseName } from '../domain/normalise.js';
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
 * - The normalised matching columns of `source_record`, from the agreement's matching tiers:
 *   in a key, the part with a `prefix` is the given name (its first three letters go to
 *   `first3`), another string part the family name, a date part the date of birth, a postcode
 *   part the postcode. Where the tiers say nothing (a dataset matched on a case reference
 *   alone), conventional field names are used: firstName/givenName/forename,
 *   lastName/familyName/surname, dateOfBirth, homePostcode/postcode, homeAddress/address, and
 *   a single `name`/`fullName` split into its first and last word. Without a postcode field,
 *   the postcode an address ends with is the matching postcode. An NHS pseudo-postcode (ZZ99
 *   3VZ, no fixed abode) is no matching postcode: the column is null, as for a row without one,
 *   while the attributes keep it to show (identifiers.ts, `isPseudoPostcode`).
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

export function storagePlanFor(dataset: Dataset, matching: readonly MatchingTier[]): StoragePlan {
  const fields = new Map(dataset.fields.map((f) => [f.name, f]));
  const plan: { -readonly [K in keyof StoragePlan]: StoragePlan[K] } = { identifiers: [], attributes: [] };
  for (const tier of matching) {
    for (const key of tier.keys) {
      for (const part of key) {
        const field = fields.get(part.field);
        if (field === undefined) continue;
        if (part.prefix !== undefined && field.type === 'string') plan.givenName ??= field.name;
        else if (field.type === 'date') plan.dateOfBirth ??= field.name;
        else if (field.type === 'postcode') plan.postcode ??= field.name;
      }
      for (const part of key) {
        const field = fields.get(part.field);
        if (field?.type === 'string' && part.prefix === undefined && field.name !== plan.givenName)
          plan.familyName ??= field.name;
      }
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
  const givenNormal = given === null ? null : normaliseName(given) || null;
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
 * none: matched on, it would join everyone of no fixed abode who shares a name.
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
