import { z } from 'zod';
import {
  isForcesPostcode,
  isPseudoPostcode,
  upnNotMatched,
  validateNhsNumber,
  validateNiNumber,
  validatePostcode,
  validateUpn,
} from '../domain/identifiers.js';
import {
  dateOfBirthBounds,
  dateOfBirthProblem,
  firstThree,
  isPlaceholderGivenName,
  normaliseDate,
  normaliseName,
} from '../domain/normalise.js';
import { ukDateOf } from '../domain/uk-date.js';

/**
 * What a caller may identify a person by. Every field is optional; which tiers can run depends
 * on what is given. Raw values live only for the duration of the request: identifiers are
 * hashed before they touch the store, and nothing here is logged.
 */
export const personQuerySchema = z
  .strictObject({
    nhsNumber: z.string().max(20).optional().describe('NHS number, 10 digits (spaces allowed)'),
    upn: z
      .string()
      .max(20)
      .optional()
      .describe(
        'Unique Pupil Number, 13 characters. A temporary UPN (ending in a letter) or a placeholder (twelve identical digits, A000000000000) finds no one: it is ignored, and refused (`upn-temporary`, `upn-placeholder`) when nothing else given can find the person',
      ),
    niNumber: z.string().max(20).optional().describe('National Insurance number'),
    systemId: z
      .strictObject({
        system: z
          .string()
          .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
          .describe('Issuing system, e.g. education or social-care'),
        id: z.string().min(1).max(64),
      })
      .optional(),
    givenName: z
      .string()
      .max(100)
      .optional()
      .describe(
        'Legal first name. A placeholder ("Baby", "Baby of …", "Unknown", "Not known", "TBC", ...) finds no one: it is ignored, and refused (`given-name-placeholder`) when nothing else given can find the person',
      ),
    familyName: z.string().max(100).optional().describe('Legal last name'),
    dateOfBirth: z.string().max(10).optional().describe('YYYY-MM-DD or DD/MM/YYYY'),
    postcode: z
      .string()
      .max(10)
      .optional()
      .describe(
        'Home postcode. An NHS pseudo-postcode (ZZ99 3VZ no fixed abode, ZZ99 3WZ address not known, ...) finds no one: it is ignored, and refused (`postcode-pseudo`) when nothing else given can find the person; so is a forces postcode (BFPO 61, BF1 3AA), shared by a whole unit (`postcode-forces`)',
      ),
  })
  .describe('Identifiers the caller holds for the person');

export type PersonQuery = z.infer<typeof personQuerySchema>;

/** The query in matching form: canonical identifiers and normalised names. */
export interface CanonicalQuery {
  identifiers: { kind: string; value: string }[];
  familyName?: string;
  first3?: string;
  dateOfBirth?: string;
  postcode?: string;
}

export type CanonicalQueryResult =
  | { ok: true; query: CanonicalQuery }
  /** `field` names the offending property, never its value. */
  | { ok: false; field: string; reason: string };

/**
 * `now` bounds the date of birth as an extract's date bounds its rows' (dateOfBirthProblem): a
 * placeholder, a future date or one older than anyone living is refused, not searched on, since
 * a caller's "not known" date would find whoever else was stored with it.
 */
export function canonicalQuery(q: PersonQuery, now: Date): CanonicalQueryResult {
  const identifiers: { kind: string; value: string }[] = [];
  if (q.nhsNumber !== undefined) {
    const r = validateNhsNumber(q.nhsNumber);
    if (!r.ok) return { ok: false, field: 'nhsNumber', reason: r.reason };
    identifiers.push({ kind: 'nhs', value: r.value });
  }
  // A temporary UPN is reissued to other children, a placeholder one (A000000000000) held by any:
  // searched on, either would find one of them. It is dropped, as a pseudo-postcode is below.
  let upnDropped: 'upn-temporary' | 'upn-placeholder' | undefined;
  if (q.upn !== undefined) {
    const r = validateUpn(q.upn);
    if (!r.ok) return { ok: false, field: 'upn', reason: r.reason };
    upnDropped = upnNotMatched(r.value);
    if (upnDropped === undefined) identifiers.push({ kind: 'upn', value: r.value });
  }
  if (q.niNumber !== undefined) {
    const r = validateNiNumber(q.niNumber);
    if (!r.ok) return { ok: false, field: 'niNumber', reason: r.reason };
    identifiers.push({ kind: 'ni', value: r.value });
  }
  if (q.systemId !== undefined) {
    const id = q.systemId.id.trim();
    // Blank after trimming is no id: it would be hashed as one (found by a review: a 500).
    if (id === '') return { ok: false, field: 'systemId.id', reason: 'id-empty' };
    identifiers.push({ kind: `system-id:${q.systemId.system}`, value: id });
  }
  const query: CanonicalQuery = { identifiers };
  if (q.familyName !== undefined) {
    const family = normaliseName(q.familyName);
    if (family === '') return { ok: false, field: 'familyName', reason: 'name-empty' };
    query.familyName = family;
  }
  // "Baby", "Unknown" name no one: searched on, "Baby Smith" would find either of twins. Dropped,
  // as a pseudo-postcode is below.
  let placeholderGivenName = false;
  if (q.givenName !== undefined) {
    const three = firstThree(q.givenName);
    if (three === '') return { ok: false, field: 'givenName', reason: 'name-empty' };
    if (isPlaceholderGivenName(normaliseName(q.givenName))) placeholderGivenName = true;
    else query.first3 = three;
  }
  if (q.dateOfBirth !== undefined) {
    const r = normaliseDate(q.dateOfBirth);
    if (!r.ok) return { ok: false, field: 'dateOfBirth', reason: r.reason };
    const problem = dateOfBirthProblem(r.value, dateOfBirthBounds(ukDateOf(now)));
    if (problem !== undefined) return { ok: false, field: 'dateOfBirth', reason: problem };
    query.dateOfBirth = r.value;
  }
  // A pseudo-postcode is where everyone of no fixed abode "lives": searched on, it would find any
  // namesake of theirs. It is dropped, so the rest of the query searches as if it were not sent.
  // So is a forces postcode, which a whole unit's people share.
  let placesNoOne: 'postcode-pseudo' | 'postcode-forces' | undefined;
  if (q.postcode !== undefined) {
    const r = validatePostcode(q.postcode);
    if (!r.ok) return { ok: false, field: 'postcode', reason: r.reason };
    if (isPseudoPostcode(r.value)) placesNoOne = 'postcode-pseudo';
    else if (isForcesPostcode(r.value)) placesNoOne = 'postcode-forces';
    else query.postcode = r.value;
  }
  const nameKey = query.familyName !== undefined && query.first3 !== undefined;
  const usable =
    identifiers.length > 0 || (nameKey && (query.dateOfBirth !== undefined || query.postcode !== undefined));
  // Names and a pseudo or forces postcode alone: told it is the postcode, not that too little was sent.
  if (!usable && placesNoOne !== undefined && nameKey) return { ok: false, field: 'postcode', reason: placesNoOne };
  if (!usable && upnDropped !== undefined) return { ok: false, field: 'upn', reason: upnDropped };
  if (!usable && placeholderGivenName) return { ok: false, field: 'givenName', reason: 'given-name-placeholder' };
  if (!usable) return { ok: false, field: 'body', reason: 'too-few-identifiers' };
  return { ok: true, query };
}
