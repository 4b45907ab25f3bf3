import { createHmac } from 'node:crypto';
import type { Field } from '../agreements/schema.js';
import type { CanonicalValue } from '../imports/field-codecs.js';

/**
 * Counts of people per value of each exported field, made safe to publish: the planning output
 * the analyst reads in Power BI. Nothing here is about one person — every figure is a count of
 * people, and a figure that could single someone out is withheld or blurred:
 *
 * - **Small numbers.** A count that, with its noise (below), comes to less than `minCell`, or
 *   whose figure, rounded, does, is suppressed (published empty, flagged), so no published
 *   figure is under the minimum, nor stands for a count under it less the noise; and so is
 *   every zero: a published zero, or a cell that went from suppressed to zero or from published
 *   to suppressed for certain, would tell which cell a departed person was in. Deciding on the
 *   noisy count makes the threshold fuzzy.
 * - **No complementary suppression.** A field's categories add up to everyone counted, but every
 *   published figure carries its own noise and rounding, so subtracting them gives a suppressed
 *   cell only to within a dozen or so either way; suppressing a second cell as well would hide
 *   the smaller of Y and N in every fully recorded flag (its "not recorded" zero is suppressed).
 * - **Few people.** When fewer than `minCell` people are counted at all, every cell is withheld.
 * - **Differencing.** The party that receives the export also knows who joins and leaves its own
 *   records, and records opt-outs; two exports a person apart would tell it that person's other
 *   values by subtraction. So every published count gets noise (−4 to +4, see
 *   {@link perturbationOf}) drawn from a keyed digest of the whole table, then is rounded to the
 *   nearest {@link ROUND_TO}: the same counts give the same figures every time (asking again
 *   averages nothing away), and any change anywhere draws fresh noise for every cell — so the
 *   cells a departed person was in do not stand out as the ones that moved. Noise drawn per cell
 *   from that cell's own contents would leave the others unchanged and point at exactly those.
 *   Fresh noise on every change can be averaged over many releases of changing data, so the
 *   export is released monthly (functions/export-curated.ts), not as often as the data changes.
 * - **Free text.** A string field is counted only by the values the grant lists under
 *   `categories`; any other value is counted as {@link OTHER_VALUES}, never named.
 * - **Sources.** Where the counts came from (the manifest names each extract) is a count too:
 *   of the people a source holds a record of. A source is named only where that count would
 *   be published as a cell (see {@link IndicatorTally.namedSources}), so naming it, or no longer
 *   naming it, does not say that one of the people counted, or a departed one, is known to it.
 *
 * Numbers go into bands rather than values (see {@link categoriesOf}). Measures are only ever
 * one field's distribution: a measure combining fields (how many flags a person has) ties the
 * fields' suppressed cells to published ones, so none is offered.
 */

export const NOT_RECORDED = 'not recorded';
export const OTHER_VALUES = 'other values';
/** The measure of everyone counted; field names are camelCase, so it cannot collide with one. */
export const ALL_PEOPLE = 'all people';
/** The one category of {@link ALL_PEOPLE}. */
export const ALL_CATEGORY = 'all';
export const ROUND_TO = 5;

export interface CountedField {
  readonly field: Field;
  readonly specialCategory: boolean;
  /** A string field's values that may be named (the grant's `categories`). */
  readonly categories?: readonly string[];
}

/** One line of the export: how many people fall in `category` of `measure`. */
export interface IndicatorCount {
  /** A field name or {@link ALL_PEOPLE}. */
  readonly measure: string;
  readonly category: string;
  /** Perturbed and rounded; null where suppressed. */
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

/**
 * The categories a field is counted in, in the order published. Percentages in the Department
 * for Education's bands: 10% of sessions missed makes a pupil persistently absent, 50% severely
 * absent. Counts in 0, 1, 2, 3 or more. Free text by the listed values, then other values.
 */
export function categoriesOf(counted: CountedField): readonly string[] {
  const { field } = counted;
  switch (field.type) {
    case 'flag':
      return ['Y', 'N', NOT_RECORDED];
    case 'enum':
      return [...(field.values ?? []), OTHER_VALUES, NOT_RECORDED];
    case 'percentage':
      return [...PERCENT_BANDS, NOT_RECORDED];
    case 'count':
      return [...COUNT_BANDS, NOT_RECORDED];
    case 'integer':
      return ['below 0', ...COUNT_BANDS, NOT_RECORDED];
    default:
      return [...new Set(counted.categories ?? [])].concat(OTHER_VALUES, NOT_RECORDED);
  }
}

/**
 * Which category of the field a value falls in; `named` maps a listed value, upper-cased, to its
 * label. A value the field's type could not have produced (a record loaded under an earlier
 * agreement, say) is never published as itself: an enum value no longer listed is one of the
 * other values, and a flag or number of another type counts as not recorded.
 */
function categoryOf(field: Field, named: ReadonlyMap<string, string>, value: CanonicalValue | null): string {
  if (value === null) return NOT_RECORDED;
  switch (field.type) {
    case 'flag':
      return value === true ? 'Y' : value === false ? 'N' : NOT_RECORDED;
    case 'enum':
      return (field.values ?? []).includes(String(value)) ? String(value) : OTHER_VALUES;
    case 'percentage': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return NOT_RECORDED;
      return value < 10 ? PERCENT_BANDS[0] : value < 50 ? PERCENT_BANDS[1] : PERCENT_BANDS[2];
    }
    case 'count':
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return NOT_RECORDED;
      if (value < 0) return field.type === 'integer' ? 'below 0' : NOT_RECORDED;
      return COUNT_BANDS[Math.min(value, 3)] ?? COUNT_BANDS[3];
    }
    default:
      return named.get(String(value).trim().toUpperCase()) ?? OTHER_VALUES;
  }
}

const NOISE = [-4, -3, -2, -1, 0, 1, 2, 3, 4] as const;
/** How many of the 256 noise keys draw each value: symmetric, so the noise adds nothing on average. */
const NOISE_WEIGHTS = [10, 21, 31, 41, 50, 41, 31, 21, 10] as const;
export const NOISE_LIMIT = 4;

/**
 * The noise a cell gets for its noise key (0 to 255): −4 to +4, 0 most often and ±4 least. The
 * table is published, so analysts can allow for it; what they cannot know is any cell's key.
 */
export function perturbationOf(cellKey: number): number {
  let bound = 0;
  for (let i = 0; i < NOISE.length; i++) {
    bound += NOISE_WEIGHTS[i]!;
    if (cellKey < bound) return NOISE[i]!;
  }
  return NOISE_LIMIT;
}

/** The noise key's measure for the counts of people by source: it has a space, as no field name does. */
const SOURCES = 'people by source';

export class IndicatorTally {
  private everyone = 0;
  private readonly cells = new Map<string, Map<string, number>>();
  /** People counted a source (party) holds a record of, by source. */
  private readonly bySource = new Map<string, number>();
  private readonly named = new Map<string, ReadonlyMap<string, string>>();

  constructor(private readonly fields: readonly CountedField[]) {
    for (const counted of fields) {
      const { name } = counted.field;
      this.cells.set(name, new Map(categoriesOf(counted).map((c) => [c, 0])));
      this.named.set(name, new Map((counted.categories ?? []).map((c) => [c.trim().toUpperCase(), c])));
    }
  }

  /** Counts one person, their `values`, and the `sources` (parties) holding a record of them. */
  add(values: PersonValues, sources: Iterable<string> = []): void {
    this.everyone++;
    for (const source of new Set(sources)) this.bySource.set(source, (this.bySource.get(source) ?? 0) + 1);
    for (const { field } of this.fields) {
      const cells = this.cells.get(field.name)!;
      const found = categoryOf(field, this.named.get(field.name)!, values.get(field.name) ?? null);
      // The table's categories are fixed when it is built: nothing adds a line of its own.
      const category = cells.has(found) ? found : NOT_RECORDED;
      cells.set(category, cells.get(category)! + 1);
    }
  }

  /** How many people were counted: for the run's own log and tests, never published as it is. */
  get peopleCounted(): number {
    return this.everyone;
  }

  /**
   * Every line of the export, each field's categories suppressed as one table and all of them
   * perturbed. `noiseSecret` keys the noise: without it, anyone could recompute the noise of a
   * guessed table and check the guess against the published one.
   */
  publish(minCell: number, noiseSecret: Buffer): IndicatorCount[] {
    const few = this.everyone < minCell;
    const tableKey = this.tableKey(noiseSecret);
    return this.measures().flatMap(([measure, special, cells]) =>
      publishMeasure(measure, special, cells, minCell, few, (category) =>
        perturbationOf(noiseKey(noiseSecret, tableKey, measure, category)),
      ),
    );
  }

  /**
   * The sources that may be named as holding a record of someone counted, sorted: each where the
   * people it holds a record of would be published as a cell of the table, with its own noise,
   * and none when every cell is withheld. Named outright, a source that held a record of one
   * person counted, and was no longer named once the recipient had moved that person on, told
   * the recipient that person was known to it (found by a defect hunt: the manifest named social
   * care's extract beside counts that withheld the two people it knew).
   */
  namedSources(minCell: number, noiseSecret: Buffer): string[] {
    const tableKey = this.tableKey(noiseSecret);
    return publishMeasure(SOURCES, false, this.sourceCounts(), minCell, this.everyone < minCell, (source) =>
      perturbationOf(noiseKey(noiseSecret, tableKey, SOURCES, source)),
    )
      .filter((cell) => !cell.suppressed)
      .map((cell) => cell.category);
  }

  /** The people counted by source, in the sources' order: the same sources give the same order. */
  private sourceCounts(): [string, number][] {
    return [...this.bySource].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private measures(): [string, boolean, [string, number][]][] {
    const measures: [string, boolean, [string, number][]][] = [[ALL_PEOPLE, false, [[ALL_CATEGORY, this.everyone]]]];
    for (const { field, specialCategory } of this.fields) {
      measures.push([field.name, specialCategory, [...this.cells.get(field.name)!]]);
    }
    return measures;
  }

  /**
   * The digest of the whole table the noise is drawn from: any count changed draws fresh noise
   * for every cell, the counts by source among them.
   */
  private tableKey(noiseSecret: Buffer): Buffer {
    const table = createHmac('sha256', noiseSecret);
    for (const [measure, , cells] of this.measures()) table.update(`${measure}=${cells.map(([, n]) => n).join(',')};`);
    // Only where there are any, so a table counted without its sources keeps the noise it had.
    if (this.bySource.size > 0) table.update(`${SOURCES}=${this.sourceCounts().join(';')};`);
    return table.digest();
  }
}

/** To the nearest ROUND_TO. */
export function roundToStep(n: number): number {
  return Math.round(n / ROUND_TO) * ROUND_TO;
}

/** The noise key of a cell of the table: 0 to 255. */
function noiseKey(noiseSecret: Buffer, tableKey: Buffer, measure: string, category: string): number {
  return createHmac('sha256', noiseSecret).update(tableKey).update(`${measure}\u0000${category}`).digest()[0]!;
}

function publishMeasure(
  measure: string,
  specialCategory: boolean,
  cells: readonly [string, number][],
  minCell: number,
  suppressAll: boolean,
  noise: (category: string) => number,
): IndicatorCount[] {
  // Decided on the noisy count and on the figure that would be published, rounded, and published
  // only when both are at the minimum. On the noisy count alone, under a minimum that is not a
  // multiple of ROUND_TO (7, 11), a count just over it rounded to a figure under it (at 7, a 5
  // was published; found by a review). On the rounded figure alone, one just under it rounded up
  // to it: at 10, four people with +4 of noise (8) were published as 10 (found by a review).
  // Never a rounded zero either, whatever the minimum.
  const noisy = cells.map(([category, n]) => n + noise(category));
  const published = noisy.map((count) => roundToStep(count));
  const floor = Math.max(minCell, ROUND_TO);
  const suppressed = cells.map(([, n], i) => suppressAll || n === 0 || noisy[i]! < minCell || published[i]! < floor);
  return cells.map(([category], i) => ({
    measure,
    category,
    people: suppressed[i] ? null : published[i]!,
    suppressed: suppressed[i]!,
    specialCategory,
  }));
}
