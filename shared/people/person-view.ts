import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Decision } from '../policy/decision.js';
import { projectRecord } from '../policy/project.js';
import type { Store } from '../store/database.js';
import { QueryShapes } from './query-shapes.js';
import { withAttributes } from '../store/record-attributes.js';

export interface SourcedRecord {
  dataset: string;
  /** The party whose extract the values come from; absent where the grant withholds which service that is. */
  source?: string;
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
 * indicators, children's social care's child-protection flag, adult social care's disability
 * details), a grant may withhold some of a source's own fields. A record of that source then
 * shown with none of its own fields — only what every source supplies (names, address) — is left
 * out: it would tell the caller nothing but its source, and so that the person is known to that
 * service, which the grant withholds. A record shown of such a source does not name it either:
 * the ISA grants providers the merged `knownToSocialCareOrSend` and withholds
 * `socialCareOrSendTeam`, and a record named `la-adult-social-care` would tell which service it
 * is. Those records come after the named ones of their dataset, ordered by what they show, so
 * their order does not tell their sources either. A caller granted all of a source's own fields
 * sees its records, named, whatever they hold: the ISA shows addresses "as displayed on each
 * host system".
 */
export async function personView(
  store: Store,
  agreements: Pick<AgreementSet, 'dataset' | 'isSource' | 'maySupplyField'>,
  decision: Decision,
  personId: string,
  read?: PersonRecords,
): Promise<PersonView> {
  if (!decision.allow) return { records: [], releasedFields: [], datasets: [] };
  const datasets = [...decision.fields.keys()];
  if (datasets.length === 0) return { records: [], releasedFields: [], datasets: [] };
  const rows =
    read !== undefined && datasets.every((d) => read.datasets.includes(d))
      ? read.rows.filter((row) => decision.fields.has(row.dataset_id))
      : await recordsQuery.execute(store, 'by-person', [personId, ...datasets]);
  const released = new Set<string>();
  const seenDatasets = new Set<string>();
  const records: SourcedRecord[] = [];
  for (const row of await withAttributes(rows, store)) {
    // A former source's loaded records are no longer the agreement's to share (AgreementSet.isSource).
    if (!agreements.isSource(row.party_id, row.dataset_id)) continue;
    const fields = projectRecord(
      decision,
      row.dataset_id,
      suppliedNow(agreements, row.dataset_id, row.party_id, row.attributes),
    );
    const own = sourceOwnFields(agreements, row.dataset_id, row.party_id);
    const withholdsSource = withholdsAny(own, decision.fields.get(row.dataset_id));
    if (withholdsSource && !Object.keys(fields).some((name) => own.has(name))) continue;
    for (const name of Object.keys(fields)) released.add(`${row.dataset_id}.${name}`);
    seenDatasets.add(row.dataset_id);
    records.push(
      withholdsSource
        ? { dataset: row.dataset_id, asOf: row.as_of, fields }
        : { dataset: row.dataset_id, source: row.party_id, asOf: row.as_of, fields },
    );
  }
  return {
    records: records.sort(inShownOrder),
    releasedFields: [...released].sort(),
    datasets: [...seenDatasets].sort(),
  };
}

/**
 * The record's values of the fields its party may supply now, as an import checks them
 * (maySupplyField): the only values a lookup shows or the planning export counts. A re-signing
 * that leaves a party a source of the dataset but takes a field away from it (the field's
 * `sources` no longer name it) leaves that field's loaded values in the store, and they are no
 * longer the agreement's to share, as a former source's records are not (found by a review: a
 * lookup showed, and the export counted, a provider's arrears flag the ISA no longer let it
 * supply). The record itself when it holds nothing else, as most do.
 */
export function suppliedNow(
  agreements: Pick<AgreementSet, 'dataset' | 'maySupplyField'>,
  datasetId: string,
  partyId: string,
  attributes: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  const supplied = fieldsSuppliedBy(agreements, datasetId, partyId);
  if (Object.keys(attributes).every((name) => supplied.has(name))) return attributes;
  return Object.fromEntries(Object.entries(attributes).filter(([name]) => supplied.has(name)));
}

const suppliedByDataset = new WeakMap<object, Map<string, ReadonlySet<string>>>();

/** The fields of the dataset the party may supply now, read once per loaded agreements and party. */
function fieldsSuppliedBy(
  agreements: Pick<AgreementSet, 'dataset' | 'maySupplyField'>,
  datasetId: string,
  partyId: string,
): ReadonlySet<string> {
  const entry = agreements.dataset(datasetId);
  if (entry === undefined) return NO_FIELDS;
  let byParty = suppliedByDataset.get(entry);
  if (byParty === undefined) suppliedByDataset.set(entry, (byParty = new Map()));
  let supplied = byParty.get(partyId);
  if (supplied === undefined) {
    supplied = new Set(
      entry.dataset.fields.filter((f) => agreements.maySupplyField(partyId, datasetId, f.name)).map((f) => f.name),
    );
    byParty.set(partyId, supplied);
  }
  return supplied;
}

/**
 * The current sources ({@link AgreementSet.isSource}) holding a record of the person in any of `datasets`,
 * each party once, sorted. A lookup or duplicate check passes over a person only former sources
 * hold, as findPerson passes over people the caller may not be answered about: their records are
 * no longer the agreement's, so they must not make a namesake that a current source holds
 * ambiguous (found by a review: a former party's left-over record of a namesake turned a Corby
 * applicant's search into no match, and the duplicate check into a 409 that told of the record);
 * and the duplicate check names these parties alone. Read on the lookups' connection.
 */
export async function sourcesHoldingNow(
  store: Store,
  agreements: Pick<AgreementSet, 'isSource'>,
  personId: string,
  datasets: readonly string[],
): Promise<string[]> {
  if (datasets.length === 0) return [];
  return currentSourcesOf(agreements, await holdersQuery.execute(store, 'by-person', [personId, ...datasets]));
}

/**
 * A person's records in some datasets, as read for a lookup: a search reads them once to judge
 * whether the caller may be answered about the person ({@link currentSourcesOf}) and shows the
 * view from the same rows, rather than reading them again (the search's hot path read the
 * person's records twice).
 */
export interface PersonRecords {
  readonly datasets: readonly string[];
  readonly rows: readonly PersonRecordRow[];
}

export interface PersonRecordRow {
  dataset_id: string;
  party_id: string;
  as_of: string;
  attributes: string;
}

/** The person's records in `datasets`, ordered as a view shows them. */
export async function personRecords(
  store: Store,
  personId: string,
  datasets: readonly string[],
): Promise<PersonRecords> {
  if (datasets.length === 0) return { datasets, rows: [] };
  return { datasets, rows: await recordsQuery.execute(store, 'by-person', [personId, ...datasets]) };
}

/** {@link sourcesHoldingNow}, of the person's records already read. */
export function currentSourcesOf(
  agreements: Pick<AgreementSet, 'isSource'>,
  rows: readonly { dataset_id: string; party_id: string }[],
): string[] {
  const current = rows.filter((h) => agreements.isSource(h.party_id, h.dataset_id));
  return [...new Set(current.map((h) => h.party_id))].sort();
}

/** Which parties hold the person's records in some datasets (values: the person id, then the datasets). */
const holdersQuery = new QueryShapes<{ dataset_id: string; party_id: string }>((db, _shape, values) =>
  db
    .selectFrom('source_record')
    .select(['dataset_id', 'party_id'])
    .distinct()
    .where('person_id', '=', values[0]!)
    .where('dataset_id', 'in', values.slice(1)),
);

/**
 * A view's order: by dataset, then the records that name their source, by source, then those that
 * do not, by what they show (fields in the grant's order, then the extract's date) rather than by
 * their sources' ids, which the order would otherwise tell.
 */
function inShownOrder(a: SourcedRecord, b: SourcedRecord): number {
  return (
    compare(a.dataset, b.dataset) ||
    compare(a.source === undefined ? 1 : 0, b.source === undefined ? 1 : 0) ||
    compare(a.source ?? shownContent(a), b.source ?? shownContent(b))
  );
}

function shownContent(record: SourcedRecord): string {
  return JSON.stringify([record.fields, record.asOf]);
}

function compare<T extends string | number>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whether a grant leaves out any of these fields. */
function withholdsAny(fields: ReadonlySet<string>, granted: ReadonlySet<string> | undefined): boolean {
  for (const name of fields) if (!granted?.has(name)) return true;
  return false;
}

const NO_FIELDS: ReadonlySet<string> = new Set();
const ownFieldsByDataset = new WeakMap<object, Map<string, ReadonlySet<string>>>();

/** The dataset's shown fields that a source supplies and not every source does (a field whose `sources` name it). */
function sourceOwnFields(
  agreements: Pick<AgreementSet, 'dataset'>,
  datasetId: string,
  partyId: string,
): ReadonlySet<string> {
  const entry = agreements.dataset(datasetId);
  if (entry === undefined) return NO_FIELDS;
  let bySource = ownFieldsByDataset.get(entry);
  if (bySource === undefined) ownFieldsByDataset.set(entry, (bySource = new Map()));
  let own = bySource.get(partyId);
  if (own === undefined) {
    // Matching-only fields (a system id) are never shown to anyone, so never withheld by a grant.
    const shown = entry.dataset.fields.filter((f) => f.classification !== 'matching-only');
    own = new Set(shown.filter((f) => f.sources?.includes(partyId) === true).map((f) => f.name));
    bySource.set(partyId, own);
  }
  return own;
}

/** Values: the person id, then the datasets. */
const recordsQuery = new QueryShapes<PersonRecordRow>((db, _shape, values) =>
  db
    .selectFrom('source_record')
    .select(['dataset_id', 'party_id', 'as_of', 'attributes'])
    .where('person_id', '=', values[0]!)
    .where('dataset_id', 'in', values.slice(1))
    .orderBy('dataset_id')
    .orderBy('party_id'),
);
