/**
 * What a data protection officer reads from the access log: who accessed a given person, and
 * everything one client did in a period. Both are cut to the DPO's audit scope — the access log
 * of the agreements whose `audit` block names the DPO's role — and paged by sequence number,
 * so a page boundary never moves however the log grows.
 */
import type { Selectable } from 'kysely';
import type { AgreementSet } from '../agreements/agreement-set.js';
import { personIdHistory } from '../linkage/person-id-history.js';
import type { Logger } from '../logging.js';
import { possiblySamePerson, type PossiblySamePerson } from '../people/possibly-same-person.js';
import type { Store } from '../store/database.js';
import type { AccessLogTable } from '../store/schema.js';
import { agreementsOfEntry, stringList } from './entry-agreements.js';
import { personIdsOf, subjectNames } from './entry-subjects.js';

/** The parts of the log one auditor may read. */
export interface AuditScope {
  /** Parties of the audited agreements: whose alerts raised before alerts had an agreement are in scope (alerts.ts). */
  readonly parties: readonly string[];
  /**
   * Datasets of the audited agreements: where the auditor may look a person up. With them those a
   * re-signing of one of them dropped (AgreementSet.formerDatasetsOf): their records stay till an
   * operator purges them (retention/dropped-datasets.ts), and their identifiers' hashes after it,
   * and a subject access request must cover all the data held (UK GDPR Art. 15), as
   * the log's entries on them stay the agreement's (entry-agreements.ts). Left out, a request by
   * identifiers found no one whose records were only there, though the same person's reference
   * was answered (found by a review).
   */
  readonly datasets: readonly string[];
  /** The audited agreements: the alerts and breach records in scope are theirs (alerts.ts). */
  readonly agreementIds: readonly string[];
  /**
   * An entry is in scope when it is the business of an audited agreement, by the rule
   * entry-agreements.ts sets out (which the watch rules share).
   */
  covers(entry: { party_id: string; roles: string; purpose: string; datasets: string }): boolean;
}

export function auditScope(agreements: AgreementSet, agreementIds: readonly string[]): AuditScope {
  const audited = new Set(agreementIds);
  const parties = new Set<string>();
  const datasets = new Set<string>();
  for (const id of agreementIds) {
    // An ended agreement (its file removed) is audited still: its parties as the store remembers
    // them, its datasets those it last defined (their records stay till an operator purges them).
    const loaded = agreements.agreement(id)?.agreement;
    const agreement = loaded ?? agreements.formerAgreement(id);
    if (!agreement) continue;
    agreement.parties.forEach((p) => parties.add(p.id));
    loaded?.datasets.forEach((d) => datasets.add(d.id));
    agreements.formerDatasetsOf(id).forEach((d) => datasets.add(d));
  }
  return {
    parties: [...parties],
    datasets: [...datasets],
    agreementIds: [...audited],
    covers: (entry) => agreementsOfEntry(agreements, entry).some((id) => audited.has(id)),
  };
}

export interface AccessEntryView {
  seq: number;
  time: string;
  requestId: string;
  partyId: string;
  clientId: string;
  roles: string[];
  purpose: string;
  action: string;
  datasets: string[];
  fields: string[];
  decision: string;
  reasonCode: string;
}

export interface EntryPage<T> {
  entries: T[];
  /** Pass as `after` for the next page; null when there is no more. */
  next: number | null;
}

export interface PageRequest {
  after: number;
  limit: number;
}

/** Rows read per query while filling a page; the scope filter may drop some of them. */
const SCAN_BATCH = 500;
/** Rows examined for one page at most; past this the page ends early and `next` continues. */
const SCAN_LIMIT = 20_000;

/**
 * Entries about one person (access_log.subject_ref holds the person id, or several for a link
 * review: entry-subjects.ts), oldest first — under every id the person's records have held, each for the time
 * they held it (to the commit of the pass that moved them on: lookups log the id until then): the
 * log keeps the id of the moment, and linking passes since may have merged
 * or split the person (shared/linkage/person-id-history.ts). With them, the ids an import carried
 * an opt-out to or from any of those (people/possibly-same-person.ts): named only, their accesses
 * not shown — a plausible successor is not certain to be the same person, and merging its accesses
 * in would risk showing the requester another person's; the DPO follows each and judges.
 */
export async function accessesToPerson(
  store: Store,
  scope: AuditScope,
  personId: string,
  page: PageRequest,
  /** Told when the person's id history is too long to follow whole (ids counted, never named). */
  logger?: Logger,
): Promise<EntryPage<AccessEntryView> & { possiblySamePerson: PossiblySamePerson[] }> {
  const { ids, capped } = await personIdHistory(store.db, personId);
  if (capped) logger?.warn('audit.person-history-capped', { ids: ids.length });
  const entries = await scanPage<AccessEntryView>(store, scope, page, (after, n) =>
    store.dialect
      .firstRows(
        store.db
          .selectFrom('access_log')
          .selectAll()
          // An entry about several people names this one first, last or between two others.
          .where((eb) =>
            eb.or(
              ids.map(({ personId: id, since, loggedUntil }) => {
                const named = subjectNames(eb, store.dialect, id);
                const bounds = [named];
                if (since !== undefined) bounds.push(eb('time', '>=', since));
                if (loggedUntil !== undefined) bounds.push(eb('time', '<', loggedUntil));
                return bounds.length === 1 ? named : eb.and(bounds);
              }),
            ),
          )
          .where('seq', '>', after)
          .orderBy('seq'),
        n,
      )
      .execute(),
  );
  return { ...entries, possiblySamePerson: await possiblySamePerson(store.db, ids) };
}

/**
 * The datasets a DPO's answer about one person showed, within their audit scope: those of the
 * entries on the page, and those where the person's records are held now (where the request found
 * them), or where an opt-out keeps their keys (imports/opt-out-kept-keys.ts). The DPO's own entry
 * names them, and is filed under their agreements (entry-agreements.ts): naming none, it was the
 * business of every agreement the DPO's party audits, and the DPOs of another learnt who was asked
 * about, though none of their agreement's data was about that person (found by a review; and by a
 * defect hunt for a person known only by an opt-out's kept hashes, whose recording entry names no
 * dataset).
 */
export async function datasetsShown(
  store: Store,
  scope: AuditScope,
  personId: string,
  entries: readonly Pick<AccessEntryView, 'datasets'>[],
): Promise<string[]> {
  if (scope.datasets.length === 0) return [];
  const inScope = new Set(scope.datasets);
  const heldIn = (table: 'source_record' | 'opt_out_kept_record' | 'opt_out_kept_identifier') =>
    store.db
      .selectFrom(table)
      .select('dataset_id')
      .where('person_id', '=', personId)
      .where('dataset_id', 'in', [...inScope]);
  // One statement, not three one after another: a union, which keeps each dataset once.
  const held = await heldIn('source_record')
    .union(heldIn('opt_out_kept_record'))
    .union(heldIn('opt_out_kept_identifier'))
    .execute();
  const named = [...entries.flatMap((e) => e.datasets), ...held.map((r) => r.dataset_id)];
  return [...new Set(named.filter((d) => inScope.has(d)))].sort();
}

/** Everything one client did in [from, to), oldest first, with the people each entry was about. */
export async function clientActivity(
  store: Store,
  scope: AuditScope,
  clientId: string,
  period: { from: string; to: string },
  page: PageRequest,
): Promise<EntryPage<AccessEntryView & { subjectIds: string[] }>> {
  return scanPage(
    store,
    scope,
    page,
    (after, n) =>
      store.dialect
        .firstRows(
          store.db
            .selectFrom('access_log')
            .selectAll()
            .where('client_id', '=', clientId)
            .where('time', '>=', period.from)
            .where('time', '<', period.to)
            .where('seq', '>', after)
            .orderBy('seq'),
          n,
        )
        .execute(),
    (row) => ({ ...entryView(row), subjectIds: personIdsOf(row.subject_ref) }),
  );
}

async function scanPage<T>(
  store: Store,
  scope: AuditScope,
  page: PageRequest,
  read: (after: number, n: number) => Promise<Selectable<AccessLogTable>[]>,
  view: (row: Selectable<AccessLogTable>) => T = entryView as unknown as (row: Selectable<AccessLogTable>) => T,
): Promise<EntryPage<T>> {
  const entries: T[] = [];
  let after = page.after;
  let scanned = 0;
  for (;;) {
    const batch = await read(after, Math.max(SCAN_BATCH, page.limit));
    for (const row of batch) {
      after = Number(row.seq);
      scanned++;
      if (!scope.covers(row)) continue;
      entries.push(view(row));
      if (entries.length === page.limit) return { entries, next: after };
    }
    if (batch.length < Math.max(SCAN_BATCH, page.limit)) return { entries, next: null };
    if (scanned >= SCAN_LIMIT) return { entries, next: after };
  }
}

export function entryView(row: Selectable<AccessLogTable>): AccessEntryView {
  return {
    seq: Number(row.seq),
    time: row.time,
    requestId: row.request_id,
    partyId: row.party_id,
    clientId: row.client_id,
    roles: stringList(row.roles),
    purpose: row.purpose,
    action: row.action,
    datasets: stringList(row.datasets),
    fields: stringList(row.fields),
    decision: row.decision,
    reasonCode: row.reason_code,
  };
}
