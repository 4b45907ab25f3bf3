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
 */
export async function personView(store: Store, decision: Decision, personId: string): Promise<PersonView> {
  if (!decision.allow) return { records: [], releasedFields: [], datasets: [] };
  const datasets = [...decision.fields.keys()];
  if (datasets.length === 0) return { records: [], releasedFields: [], datasets: [] };
  const rows = await recordsQuery.execute(store, 'by-person', [personId, ...datasets]);
  const released = new Set<string>();
  const seenDatasets = new Set<string>();
  const records = rows.map((row) => {
    const fields = projectRecord(decision, row.dataset_id, JSON.parse(row.attributes) as Record<string, unknown>);
    for (const name of Object.keys(fields)) released.add(`${row.dataset_id}.${name}`);
    seenDatasets.add(row.dataset_id);
    return { dataset: row.dataset_id, source: row.party_id, asOf: row.as_of, fields };
  });
  return { records, releasedFields: [...released].sort(), datasets: [...seenDatasets].sort() };
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
