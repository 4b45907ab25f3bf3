/**
 * Turns raw partner values into the engine's canonical form: names normalised, dates ISO,
 * postcodes canonical, identifiers validated and pseudonymised. An invalid value is dropped
 * (treated as absent) and counted by reason code: one mistyped NHS number must not cost the
 * record its other fields, and an identifier that fails its check digit must never be linked on.
 * So is an NHS pseudo-postcode (ZZ99 3VZ, no fixed abode), counted as `postcode-pseudo`: valid,
 * but shared by everyone it stands for, so never linked or blocked on; so is a forces postcode
 * (BFPO 61, BF1 3AA), shared by a whole unit, counted as `postcode-forces`; and a placeholder
 * given name ("Baby", "Unknown"), counted as `given-name-placeholder`; and, for the same reason,
 * a placeholder date of birth (1900-01-01 and the like), counted as `date-of-birth-placeholder`;
 * and one in the future or before anyone living, as an import or a lookup refuses it. A
 * temporary UPN, reissued to other children, is dropped too, counted as `upn-temporary`, and a
 * placeholder one (A000000000000) as `upn-placeholder`.
 */

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
  matchingGivenName,
  normaliseDateCell,
  normaliseName,
  type DateOfBirthBounds,
} from '../domain/normalise.js';
import { ukDateOf } from '../domain/uk-date.js';
import type { Pseudonymiser } from '../domain/pseudonymise.js';
import type { RecordBatch } from './record.js';

/** One raw record as a partner file carries it; any field may be missing or blank. */
export interface RawPersonRecord {
  readonly recordId: string;
  readonly givenName?: string | undefined;
  readonly familyName?: string | undefined;
  readonly dob?: string | undefined;
  readonly postcode?: string | undefined;
  readonly address?: string | undefined;
  readonly nhsNumber?: string | undefined;
  readonly upn?: string | undefined;
  readonly niNumber?: string | undefined;
  readonly systemIds?: readonly { readonly system: string; readonly id: string }[] | undefined;
}

/** Raw records column by column ("" = blank), as the synthetic generator produces them. */
export interface RawRecordColumns {
  readonly sourceId: string;
  readonly size: number;
  readonly recordId: readonly string[];
  readonly givenName: readonly string[];
  readonly familyName: readonly string[];
  readonly dob: readonly string[];
  readonly postcode: readonly string[];
  readonly address: readonly string[];
  readonly nhsNumber: readonly string[];
  readonly upn: readonly string[];
  readonly niNumber: readonly string[];
  readonly systemIds: ReadonlyMap<string, readonly string[]>;
}

/** Counts of dropped values by reason code (`nhs-number-check-digit`, `date-format`, ...). */
export type CanonicalisationReport = Record<string, number>;

const SYSTEM_NAME_INVALID = /[^a-z0-9._-]+/g;

/** A system name usable as a pseudonym kind suffix: lower case, [a-z0-9._-], at most 64. */
export function canonicalSystemName(system: string): string {
  const name = system
    .trim()
    .toLowerCase()
    .replace(SYSTEM_NAME_INVALID, '-')
    .replace(/^[^a-z0-9]+/, '');
  if (name === '') throw new RangeError('canonicalSystemName: empty system name');
  return name.slice(0, 64);
}

const STREET_ABBREVIATIONS: ReadonlyMap<string, string> = new Map([
  ['RD', 'ROAD'],
  ['AVE', 'AVENUE'],
  ['AV', 'AVENUE'],
  ['LN', 'LANE'],
  ['CL', 'CLOSE'],
  ['DR', 'DRIVE'],
  ['GDNS', 'GARDENS'],
  ['CRES', 'CRESCENT'],
  ['PL', 'PLACE'],
  ['SQ', 'SQUARE'],
  ['TER', 'TERRACE'],
  ['TERR', 'TERRACE'],
]);

/**
 * Normalised address with common street-type abbreviations expanded ("12 Church Rd" ->
 * "12 CHURCH ROAD"). "ST" is expanded to STREET only as the last word: elsewhere it is as
 * likely to be Saint.
 */
export function normaliseAddress(input: string): string {
  const normal = normaliseName(input);
  if (normal === '') return '';
  const tokens = normal.split(' ');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    const expanded = STREET_ABBREVIATIONS.get(t);
    if (expanded !== undefined) tokens[i] = expanded;
    else if (t === 'ST' && i === tokens.length - 1 && i > 0) tokens[i] = 'STREET';
  }
  return tokens.join(' ');
}

/** Accumulates canonical records into a {@link RecordBatch}, one raw record at a time. */
export class RecordBatchBuilder {
  readonly #sourceId: string;
  readonly #pseudonymiser: Pseudonymiser;
  readonly #report: CanonicalisationReport = {};
  readonly #recordId: string[] = [];
  readonly #givenName: string[] = [];
  readonly #familyName: string[] = [];
  readonly #dob: string[] = [];
  readonly #postcode: string[] = [];
  readonly #address: string[] = [];
  readonly #nhsHash: string[] = [];
  readonly #upnHash: string[] = [];
  readonly #niHash: string[] = [];
  readonly #systemIds = new Map<string, string[]>();
  /** Names recur (a few thousand surnames across millions of rows): normalise each once. */
  readonly #names = new Map<string, string>();
  readonly #dateOfBirthBounds: DateOfBirthBounds;

  /**
   * `now` bounds the dates of birth as a lookup's does (person-query.ts): raw records read here
   * (a file given to `npm run link`) carry no extract date to bound them by.
   */
  constructor(sourceId: string, pseudonymiser: Pseudonymiser, now: Date = new Date()) {
    this.#sourceId = sourceId;
    this.#pseudonymiser = pseudonymiser;
    this.#dateOfBirthBounds = dateOfBirthBounds(ukDateOf(now));
  }

  get size(): number {
    return this.#recordId.length;
  }

  add(raw: RawPersonRecord): void {
    const i = this.#recordId.length;
    this.#recordId.push(raw.recordId);
    this.#givenName.push(this.#givenNameOf(raw.givenName ?? ''));
    this.#familyName.push(this.#name(raw.familyName ?? ''));
    this.#dob.push(this.#date(raw.dob ?? ''));
    this.#postcode.push(this.#postcodeOf(raw.postcode ?? ''));
    this.#address.push(normaliseAddress(raw.address ?? ''));
    this.#nhsHash.push(this.#nhs(raw.nhsNumber ?? ''));
    this.#upnHash.push(this.#upn(raw.upn ?? ''));
    this.#niHash.push(this.#ni(raw.niNumber ?? ''));
    for (const { system, id } of raw.systemIds ?? []) this.#systemId(i, system, id);
  }

  build(): { batch: RecordBatch; report: CanonicalisationReport } {
    const size = this.#recordId.length;
    for (const column of this.#systemIds.values()) while (column.length < size) column.push('');
    return {
      batch: {
        sourceId: this.#sourceId,
        size,
        recordId: this.#recordId,
        givenName: this.#givenName,
        familyName: this.#familyName,
        dob: this.#dob,
        postcode: this.#postcode,
        address: this.#address,
        nhsHash: this.#nhsHash,
        upnHash: this.#upnHash,
        niHash: this.#niHash,
        systemIds: this.#systemIds,
      },
      report: { ...this.#report },
    };
  }

  #name(input: string): string {
    let normal = this.#names.get(input);
    if (normal === undefined) {
      normal = normaliseName(input);
      if (this.#names.size < 500_000) this.#names.set(input, normal);
    }
    return normal;
  }

  /** A placeholder ("Baby", "Unknown") names no one: no given name to link on. */
  #givenNameOf(input: string): string {
    const normal = this.#name(input);
    const given = matchingGivenName(normal);
    if (given !== normal) this.#count('given-name-placeholder');
    return given;
  }

  #count(reason: string): void {
    this.#report[reason] = (this.#report[reason] ?? 0) + 1;
  }

  /**
   * Read as an import reads a date-of-birth cell, so a file the import loads links as it would
   * once loaded: a SQL export's midnight time is its day, and a placeholder (everyone whose date
   * was not known shares it), a future date or one before anyone living is dropped like an
   * invalid value, by the import's own rule.
   */
  #date(input: string): string {
    if (input.trim() === '') return '';
    const result = normaliseDateCell(input);
    if (!result.ok) {
      this.#count(result.reason);
      return '';
    }
    const problem = dateOfBirthProblem(result.value, this.#dateOfBirthBounds);
    if (problem === undefined) return result.value;
    this.#count(problem);
    return '';
  }

  #postcodeOf(input: string): string {
    if (input.trim() === '') return '';
    const result = validatePostcode(input);
    if (!result.ok) this.#count(result.reason);
    else if (isPseudoPostcode(result.value)) this.#count('postcode-pseudo');
    else if (isForcesPostcode(result.value)) this.#count('postcode-forces');
    else return result.value;
    return '';
  }

  #nhs(input: string): string {
    if (input.trim() === '') return '';
    const result = validateNhsNumber(input);
    if (!result.ok) {
      this.#count(result.reason);
      return '';
    }
    return this.#pseudonymiser.hash('nhs', result.value);
  }

  #upn(input: string): string {
    if (input.trim() === '') return '';
    const result = validateUpn(input);
    if (!result.ok) {
      this.#count(result.reason);
      return '';
    }
    const notMatched = upnNotMatched(result.value);
    if (notMatched !== undefined) {
      this.#count(notMatched);
      return '';
    }
    return this.#pseudonymiser.hash('upn', result.value);
  }

  #ni(input: string): string {
    if (input.trim() === '') return '';
    const result = validateNiNumber(input);
    if (!result.ok) {
      this.#count(result.reason);
      return '';
    }
    return this.#pseudonymiser.hash('ni', result.value);
  }

  #systemId(i: number, rawSystem: string, rawId: string): void {
    const id = rawId.replace(/\s+/g, '').toUpperCase();
    if (id === '') return;
    const system = canonicalSystemName(rawSystem);
    let column = this.#systemIds.get(system);
    if (column === undefined) {
      column = [];
      this.#systemIds.set(system, column);
    }
    while (column.length < i) column.push('');
    const hash = this.#pseudonymiser.hash(`system-id:${system}`, id);
    if (column.length === i) column.push(hash);
    else if (column[i] !== hash) this.#count('system-id-second-value');
  }
}

/** Canonicalises column-shaped raw records (e.g. a synthetic source) into a batch. */
export function canonicaliseColumns(
  raw: RawRecordColumns,
  pseudonymiser: Pseudonymiser,
): { batch: RecordBatch; report: CanonicalisationReport } {
  const builder = new RecordBatchBuilder(raw.sourceId, pseudonymiser);
  const systems = [...raw.systemIds.entries()];
  for (let i = 0; i < raw.size; i++) {
    const systemIds: { system: string; id: string }[] = [];
    for (const [system, ids] of systems) {
      const id = ids[i] ?? '';
      if (id !== '') systemIds.push({ system, id });
    }
    builder.add({
      recordId: raw.recordId[i] ?? '',
      givenName: raw.givenName[i],
      familyName: raw.familyName[i],
      dob: raw.dob[i],
      postcode: raw.postcode[i],
      address: raw.address[i],
      nhsNumber: raw.nhsNumber[i],
      upn: raw.upn[i],
      niNumber: raw.niNumber[i],
      systemIds,
    });
  }
  return builder.build();
}
