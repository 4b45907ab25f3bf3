import type { Agreement, Dataset, RetentionRule } from '../agreements/schema.js';
import { codecFor } from '../imports/field-codecs.js';

/**
 * A joint-system retention rule's condition ("held only whilst clients of Housing are in
 * temporary accommodation"), made ready to judge records by: the field, the parties whose
 * records decide it, and the value that keeps a person. Undefined, with why, when the rule
 * cannot be judged: a field the dataset does not have, or a value its type cannot hold.
 */
export interface KeepWhileTest {
  readonly field: string;
  /** The field's sources, else the dataset's: only their records decide. */
  readonly decidingParties: readonly string[];
  /** The value, canonical as stored, that keeps a person. */
  readonly wanted: unknown;
}

export function keepWhileTest(
  dataset: Dataset,
  keepWhile: NonNullable<RetentionRule['keepWhile']>,
): KeepWhileTest | 'unknown-field' | 'value-not-of-field-type' {
  const field = dataset.fields.find((f) => f.name === keepWhile.field);
  if (field === undefined) return 'unknown-field';
  const wanted = codecFor({ ...field, required: true })(keepWhile.equals);
  if (!wanted.ok) return 'value-not-of-field-type';
  return { field: field.name, decidingParties: field.sources ?? dataset.sources, wanted: wanted.value };
}

/** A record of the rule's dataset, as the condition judges it. */
export interface KeepWhileRecord {
  readonly partyId: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/**
 * Whether the condition holds for a person now: one of their records (of the rule's dataset)
 * from the deciding parties holds the value. Lookups and the planning export judge by this; the
 * retention pass judges the same way, but keeps a blank as well, since it deletes.
 */
export function keepsPerson(test: KeepWhileTest, records: Iterable<KeepWhileRecord>): boolean {
  for (const { partyId, attributes } of records)
    if (test.decidingParties.includes(partyId) && attributes[test.field] === test.wanted) return true;
  return false;
}

/**
 * Whether a stored value can be judged against the condition: one of the type the field's codec
 * stores, as the wanted value is. A blank cannot, nor a value stored under another type (a
 * record loaded while the agreement typed the field otherwise: `"Y"` where a flag now stores
 * true): it may say the person is to be kept.
 */
export function judgeable(test: KeepWhileTest, value: unknown): boolean {
  return value !== undefined && value !== null && typeof value === typeof test.wanted;
}

/** The agreement's joint-system rules with a condition, each with its dataset. */
export function keepWhileRules(
  agreement: Agreement,
): { dataset: Dataset; keepWhile: NonNullable<RetentionRule['keepWhile']> }[] {
  const rules = [];
  for (const rule of agreement.retention) {
    if (rule.scope !== 'joint-system' || rule.keepWhile === undefined) continue;
    const dataset = agreement.datasets.find((d) => d.id === rule.dataset);
    if (dataset !== undefined) rules.push({ dataset, keepWhile: rule.keepWhile });
  }
  return rules;
}
