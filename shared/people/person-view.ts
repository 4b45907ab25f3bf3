import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Decision } from '../policy/decision.js';
import { projectRecord } from '../policy/project.js';
import type { Store } from '../store/database.js';
import { QueryShapes } from './query-shapes.js';

export interface SourcedRecord {
  dataset: string;
  /** The party whose extract the values come from. */
  source: string;
  /** The date the partner's extract describes. */
  asOf: string;
  fields: Record<string, unknown>;
}

export interface PersonView {
  records: SourcedRecord[];
  /** Every field name released, for the access log. */
  releasedFields: string[];
  datasets: string[];
}

/**
 * The person's records in the datasets the decision covers, each cut down to the decision's
 * field set by the projector — the only way a value reaches a response.
 *
 * In a dataset whose sources each supply fields of their own (a field's `sources`: the ISA's
 * indicators, children's social care's child-protection flag, education's exclusions), a record
 * is shown for what its source alone supplies. One left holding only what every source supplies
 * (names, date of birth, address) is left out: it would tell the caller nothing but its source,
 * and so that the person is known to that service (adult social care, SEND), which the grant
 * may withhold.
 */
export async function personView(
  store: Store,
  agreements: Pick<AgreementSet, 'dataset'>,
  decision: Decision,
  personId: string,
): Promise<PersonView> {
  if (!decision.allow) return { records: [], releasedFields: [], datasets: [] };
  const datasets = [...decision.fields.keys()];
  if (datasets.length === 0) return { records: [], releasedFields: [], datasets: [] };
  const rows = await recordsQuery.execute(store, 'by-person', [personId, ...datasets]);
  const released = new Set<string>();
  const seenDatasets = new Set<string>();
  const records: SourcedRecord[] = [];
  for (const row of rows) {
    const fields = projectRecord(decision, row.dataset_id, JSON.parse(row.attributes) as Record<string, unknown>);
    const ownFields = sourceOwnFields(agreements, row.dataset_id);
    if (ownFields.size > 0 && !Object.keys(fields).some((name) => ownFields.has(name))) continue;
    for (const name of Object.keys(fields)) released.add(`${row.dataset_id}.${name}`);
    seenDatasets.add(row.dataset_id);
    records.push({ dataset: row.dataset_id, source: row.party_id, asOf: row.as_of, fields });
  }
  return { records, releasedFields: [...released].sort(), datasets: [...seenDatasets].sort() };
}

const NO_FIELDS: ReadonlySet<string> = new Set();
const ownFieldsByDataset = new WeakMap<object, ReadonlySet<string>>();

/** The dataset's fields that only some of its sources supply (a field with `sources`). */
function sourceOwnFields(agreements: Pick<AgreementSet, 'dataset'>, datasetId: string): ReadonlySet<string> {
  const entry = agreements.dataset(datasetId);
  if (entry === undefined) return NO_FIELDS;
  let own = ownFieldsByDataset.get(entry);
  if (own === undefined) {
    own = new Set(entry.dataset.fields.filter((field) => field.sources !== undefined).map((field) => field.name));
    ownFieldsByDataset.set(entry, own);
  }
  return own;
}

/** Values: the person id, then the datasets. */
const recordsQuery = new QueryShapes((db, _shape, values) =>
  db
    .selectFrom('source_record')
    .select(['dataset_id', 'party_id', 'as_of', 'attributes'])
    .where('person_id', '=', values[0]!)
    .where('dataset_id', 'in', values.slice(1))
    .orderBy('dataset_id')
    .orderBy('party_id'),
);
