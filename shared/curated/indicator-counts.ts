import type { Field } from '../agreements/schema.js';
import type { CanonicalValue } from '../imports/field-codecs.js';

/**
 * Counts of people per value of each exported field, made safe to publish: the planning output
 * the analyst reads in Power BI. Nothing here is about one person — every figure is a count of
 * people, and a count that could single someone out is withheld:
 *
 * - **Small numbers.** A count from 1 to `minCell - 1` is suppressed (published empty, flagged).
 * - **Complementary suppression.** Each field's categories add up to everyone counted, so one
 *   suppressed cell could be had back by subtraction; the next smallest is suppressed with it.
 * - **Rounding.** Published counts are rounded to the nearest {@link ROUND_TO}, so two exports a
 *   day apart that differ by one person do not tell which category that person moved into.
 * - **Few people.** When fewer than `minCell` people are counted at all, every cell is withheld
 *   (a zero beside a total of three says something about each of the three).
 * - **Free-text values.** A string field's values are data, not labels: a value held by fewer
 *   than `minCell` people is counted under {@link OTHER_VALUES} and never named.
 *
 * Numbers go into bands rather than values (see {@link categoriesOf}).
 */

export const NOT_RECORDED = 'not recorded';
export const OTHER_VALUES = 'other values';
/** Measures that are not one field's; field names are camelCase, so these cannot collide. */
export const ALL_PEOPLE = 'all people';
export const FLAGGED_YES = 'indicators flagged Y';
export const ROUND_TO = 5;

export interface CountedField {
  readonly field: Field;
  readonly specialCategory: boolean;
}

/** One line of the export: how many people fall in `category` of `measure`. */
export interface IndicatorCount {
  /** A field name, {@link ALL_PEOPLE} or {@link FLAGGED_YES}. */
  readonly measure: string;
  readonly category: string;
  /** Rounded to {@link ROUND_TO}; null where suppressed. */
  readonly people: number | null;
  readonly suppressed: boolean;
  readonly specialCategory: boolean;
}

/** The person's value of each field, from their records in the dataset (one per source, say). */
export type PersonValues = ReadonlyMap<string, CanonicalValue | null>;

export interface DatedRecord {
  /** The date the partner's extract describes. */
  readonly asOf: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/**
 * One person's values from their records. A flag is Y when any record says Y, N when none does
 * and one says N: a partner that knows of a child protection plan outweighs one that does not.
 * Any other field takes the value of the most recent extract that holds one.
 */
export function personValues(fields: readonly CountedField[], records: readonly DatedRecord[]): PersonValues {
  const newestFirst = [...records].sort((a, b) => (a.asOf < b.asOf ? 1 : a.asOf > b.asOf ? -1 : 0));
  const values = new Map<string, CanonicalValue | null>();
  for (const { field } of fields) {
    const held = newestFirst
      .map((record) => record.attributes[field.name])
      .filter((v): v is CanonicalValue => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean');
    if (field.type === 'flag') {
      values.set(field.name, held.includes(true) ? true : held.includes(false) ? false : null);
    } else {
      values.set(field.name, held[0] ?? null);
    }
  }
  return values;
}

const PERCENT_BANDS = ['under 10%', '10% to under 50%', '50% or more'] as const;
const COUNT_BANDS = ['0', '1', '2', '3 or more'] as const;
const FLAGGED_BANDS = ['0', '1', '2', '3', '4 or more'] as const;

/**
 * The categories a field is counted in, in the order published; a string field's are its values.
 * Percentages in the Department for Education's bands: 10% of sessions missed makes a pupil
 * persistently absent, 50% severely absent. Counts in 0, 1, 2, 3 or more.
 */
export function categoriesOf(field: Field): readonly string[] | undefined {
  switch (field.type) {
    case 'flag':
      return ['Y', 'N', NOT_RECORDED];
    case 'enum':
      return [...(field.values ?? []), NOT_RECORDED];
    case 'percentage':
      return [...PERCENT_BANDS, NOT_RECORDED];
    case 'count':
      return [...COUNT_BANDS, NOT_RECORDED];
    case 'integer':
      return ['below 0', ...COUNT_BANDS, NOT_RECORDED];
    default:
      return undefined;
  }
}

function categoryOf(field: Field, value: CanonicalValue | null): string {
  if (value === null) return NOT_RECORDED;
  switch (field.type) {
    case 'flag':
      return value === true ? 'Y' : 'N';
    case 'percentage': {
      const n = Number(value);
      return n < 10 ? PERCENT_BANDS[0] : n < 50 ? PERCENT_BANDS[1] : PERCENT_BANDS[2];
    }
    case 'count':
    case 'integer': {
      const n = Number(value);
      return n < 0 ? 'below 0' : (COUNT_BANDS[Math.min(n, 3)] ?? COUNT_BANDS[3]);
    }
    default:
      return String(value);
  }
}

export class IndicatorTally {
  private people = 0;
  private readonly counts = new Map<string, Map<string, number>>();
  private readonly flagged = new Map<string, number>();
  private readonly flagFields: readonly CountedField[];

  constructor(private readonly fields: readonly CountedField[]) {
    for (const { field } of fields) {
      this.counts.set(field.name, new Map((categoriesOf(field) ?? [NOT_RECORDED]).map((c) => [c, 0])));
    }
    this.flagFields = fields.filter(({ field }) => field.type === 'flag');
  }

  add(values: PersonValues): void {
    this.people++;
    let yes = 0;
    for (const { field } of this.fields) {
      const value = values.get(field.name) ?? null;
      const cells = this.counts.get(field.name)!;
      const category = categoryOf(field, value);
      cells.set(category, (cells.get(category) ?? 0) + 1);
      if (field.type === 'flag' && value === true) yes++;
    }
    const band = FLAGGED_BANDS[Math.min(yes, FLAGGED_BANDS.length - 1)]!;
    this.flagged.set(band, (this.flagged.get(band) ?? 0) + 1);
  }

  /** How many people were counted: for the run's own log, never published unsuppressed. */
  get peopleCounted(): number {
    return this.people;
  }

  /** Every line of the export, each field's categories suppressed and rounded as one table. */
  publish(minCell: number): IndicatorCount[] {
    const few = this.people < minCell;
    const lines: IndicatorCount[] = [...publishMeasure(ALL_PEOPLE, false, [['all', this.people]], minCell, few)];
    for (const { field, specialCategory } of this.fields) {
      let cells = [...this.counts.get(field.name)!];
      if (categoriesOf(field) === undefined) cells = collapseRareValues(cells, minCell);
      lines.push(...publishMeasure(field.name, specialCategory, cells, minCell, few));
    }
    if (this.flagFields.length > 0) {
      const cells = FLAGGED_BANDS.map((band): [string, number] => [band, this.flagged.get(band) ?? 0]);
      const special = this.flagFields.some((f) => f.specialCategory);
      lines.push(...publishMeasure(FLAGGED_YES, special, cells, minCell, few));
    }
    return lines;
  }
}

/** A string field's values held by fewer than `minCell` people go under OTHER_VALUES, unnamed. */
function collapseRareValues(cells: readonly [string, number][], minCell: number): [string, number][] {
  let other = 0;
  let notRecorded = 0;
  const kept: [string, number][] = [];
  for (const [category, n] of cells) {
    if (category === NOT_RECORDED) notRecorded = n;
    else if (n >= minCell) kept.push([category, n]);
    else other += n;
  }
  kept.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return [...kept, [OTHER_VALUES, other], [NOT_RECORDED, notRecorded]];
}

function publishMeasure(
  measure: string,
  specialCategory: boolean,
  cells: readonly [string, number][],
  minCell: number,
  suppressAll: boolean,
): IndicatorCount[] {
  const suppressed = cells.map(([, n]) => suppressAll || (n > 0 && n < minCell));
  if (suppressed.filter(Boolean).length === 1) {
    let next = -1;
    cells.forEach(([, n], i) => {
      if (!suppressed[i] && n > 0 && (next < 0 || n < cells[next]![1])) next = i;
    });
    if (next >= 0) suppressed[next] = true;
  }
  return cells.map(([category, n], i) => ({
    measure,
    category,
    people: suppressed[i] ? null : Math.round(n / ROUND_TO) * ROUND_TO,
    suppressed: suppressed[i]!,
    specialCategory,
  }));
}
