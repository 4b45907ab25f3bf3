import { randomUUID } from 'node:crypto';
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Agreement, Dataset, RetentionRule } from '../agreements/schema.js';
import type { AccessLog } from '../audit/access-log.js';
import { codecFor } from '../imports/field-codecs.js';
import { takeLinkingLock } from '../linkage/link-people.js';
import { errorKind, type Logger } from '../logging.js';
import type { Store } from '../store/database.js';

export interface RetentionDependencies {
  readonly store: Store;
  readonly agreements: AgreementSet;
  readonly accessLog: AccessLog;
  readonly logger: Logger;
}

export interface RetentionSummary {
  readonly agreementId: string;
  readonly datasetId: string;
  /** `skipped`: the rule could not be judged (see enforceRetention); nothing was deleted. */
  readonly outcome: 'enforced' | 'skipped';
  readonly peopleDeleted: number;
  readonly recordsDeleted: number;
}

/** The access log's action, client and reason for a deletion under a retention rule. */
export const RETENTION_ACTION = 'retention-delete';
const CLIENT_ID = 'retention';
const PARTY_ID = 'joint-system';
const REASON = 'retention-keep-while';
const NOT_COMMITTED = 'retention-not-committed';
/** Ids a statement: well under SQL Server's 2,100 parameters. */
const BATCH = 500;

/**
 * Enforces the agreement's joint-system retention rules that carry a condition (`keepWhile`):
 * "Data will only be held on the joint system whilst clients of Housing are in temporary
 * accommodation" keeps a person's records of the dataset, from every source, only while one of
 * that person's records from the field's sources holds the value. The others are deleted from the
 * store — the record, its pseudonymised identifiers and its links — in one transaction, each
 * person with one access-log entry (action `retention-delete`, the person as subject, no field),
 * written before the deletion is committed; should the commit fail, each gets a second entry,
 * `retention-not-committed`, and the next pass tries again.
 *
 * Judged only on what linking has placed: a record without a person id, or with one carried from
 * the last snapshot that no pass has confirmed yet, waits for the next pass, so a snapshot loaded
 * before its people are linked is not deleted for want of a link. A record in a link candidate
 * waiting for an officer, whose other record is kept, is kept too: the review decides whether it
 * belongs to a person in scope. A rule is skipped (logged, nothing deleted) while none of the
 * field's sources has records in the store — the condition cannot be judged without them — or
 * when its value is not one the field's type can hold (it would match nobody, and delete all).
 *
 * Periods (`period`, `after`) are not enforced here: the signed agreements state none for the
 * joint system (agreements/README.md).
 */
export async function enforceRetention(deps: RetentionDependencies, agreementId: string): Promise<RetentionSummary[]> {
  const agreement = deps.agreements.agreement(agreementId)?.agreement;
  if (agreement === undefined) return [];
  const summaries: RetentionSummary[] = [];
  for (const rule of agreement.retention) {
    if (rule.scope !== 'joint-system' || rule.keepWhile === undefined) continue;
    const dataset = agreement.datasets.find((d) => d.id === rule.dataset);
    if (dataset === undefined) continue;
    summaries.push(await enforceRule(deps, agreement, dataset, rule.keepWhile));
  }
  return summaries;
}

/** Every agreement's rules (the timer's pass). */
export async function enforceAllRetention(deps: RetentionDependencies): Promise<RetentionSummary[]> {
  const summaries: RetentionSummary[] = [];
  for (const { agreement } of deps.agreements.all()) summaries.push(...(await enforceRetention(deps, agreement.id)));
  return summaries;
}

async function enforceRule(
  deps: RetentionDependencies,
  agreement: Agreement,
  dataset: Dataset,
  keepWhile: NonNullable<RetentionRule['keepWhile']>,
): Promise<RetentionSummary> {
  const base = { agreementId: agreement.id, datasetId: dataset.id };
  const skipped = (reason: string): RetentionSummary => {
    deps.logger.warn('retention.skipped', { ...base, reason });
    return { ...base, outcome: 'skipped', peopleDeleted: 0, recordsDeleted: 0 };
  };
  const field = dataset.fields.find((f) => f.name === keepWhile.field);
  if (field === undefined) return skipped('unknown-field');
  const wanted = codecFor({ ...field, required: true })(keepWhile.equals);
  if (!wanted.ok) return skipped('value-not-of-field-type');
  const decidingParties = field.sources ?? dataset.sources;
  const runId = randomUUID();
  let logged: readonly string[] = [];
  const { store } = deps;
  // SQLite in memory writes the log on the store's one connection, which the deletion's
  // transaction holds: there the entries follow the commit (as request-pipeline.ts does).
  const entryInside = !(store.sqlite !== undefined && store.accessLogFile === undefined);

  const plan = await store.db
    .transaction()
    .execute(async (trx) => {
      // Not while a linking pass re-forms the agreement's people (Azure SQL reads the last
      // committed people under snapshot isolation, and would judge the old ones).
      await takeLinkingLock(store, trx, agreement.id);
      const deciding = await trx
        .selectFrom('source_record')
        .select(['person_id', 'attributes'])
        .where('dataset_id', '=', dataset.id)
        .where('party_id', 'in', decidingParties)
        .execute();
      if (deciding.length === 0) return undefined;
      const kept = new Set<string>();
      for (const row of deciding) {
        if (row.person_id === null) continue;
        const attributes = JSON.parse(row.attributes) as Record<string, unknown>;
        if (attributes[keepWhile.field] === wanted.value) kept.add(row.person_id);
      }

      const linked = await trx
        .selectFrom('source_record')
        .select(['id', 'person_id'])
        .where('dataset_id', '=', dataset.id)
        .where('person_id', 'is not', null)
        .where('carried_person_id', 'is', null)
        .execute();
      const personOf = new Map(linked.map((r) => [r.id, r.person_id!]));
      const underReview = new Set<string>();
      const candidates = await trx
        .selectFrom('record_link')
        .select(['record_a', 'record_b'])
        .where('agreement_id', '=', agreement.id)
        .where('status', '=', 'candidate')
        .execute();
      for (const { record_a: a, record_b: b } of candidates) {
        const personA = personOf.get(a);
        const personB = personOf.get(b);
        if (personA !== undefined && kept.has(personA)) underReview.add(b);
        if (personB !== undefined && kept.has(personB)) underReview.add(a);
      }

      const byPerson = new Map<string, string[]>();
      for (const { id, person_id: personId } of linked) {
        if (kept.has(personId!) || underReview.has(id)) continue;
        const ids = byPerson.get(personId!) ?? [];
        ids.push(id);
        byPerson.set(personId!, ids);
      }
      if (byPerson.size === 0) return { people: [], records: 0 };

      // Written before the deletion commits: a deletion the log does not show must not happen.
      if (entryInside) {
        await logEach(deps, runId, agreement.id, dataset.id, [...byPerson.keys()], 'allow', REASON);
        logged = [...byPerson.keys()];
      }
      const ids = [...byPerson.values()].flat();
      for (let i = 0; i < ids.length; i += BATCH) {
        const batch = ids.slice(i, i + BATCH);
        await trx.deleteFrom('record_identifier').where('record_id', 'in', batch).execute();
        await trx
          .deleteFrom('record_link')
          .where((eb) => eb.or([eb('record_a', 'in', batch), eb('record_b', 'in', batch)]))
          .execute();
        await trx.deleteFrom('source_record').where('id', 'in', batch).execute();
      }
      return { people: [...byPerson.keys()], records: ids.length };
    })
    .catch(async (err: unknown) => {
      const kind = errorKind(err);
      deps.logger.error('retention.failed', { ...base, runId, kind });
      if (logged.length > 0)
        await logEach(deps, runId, agreement.id, dataset.id, logged, 'deny', NOT_COMMITTED).catch(() => undefined);
      throw new RetentionFailed(kind);
    });

  if (plan === undefined) return skipped('no-records-from-field-sources');
  if (!entryInside && plan.people.length > 0)
    await logEach(deps, runId, agreement.id, dataset.id, plan.people, 'allow', REASON);
  deps.logger.info('retention.enforced', {
    ...base,
    runId,
    peopleDeleted: plan.people.length,
    recordsDeleted: plan.records,
  });
  return { ...base, outcome: 'enforced', peopleDeleted: plan.people.length, recordsDeleted: plan.records };
}

async function logEach(
  deps: RetentionDependencies,
  runId: string,
  agreementId: string,
  datasetId: string,
  people: readonly string[],
  decision: 'allow' | 'deny',
  reasonCode: string,
): Promise<void> {
  // Concurrent appends share the log's group commit.
  for (let i = 0; i < people.length; i += BATCH)
    await Promise.all(
      people.slice(i, i + BATCH).map((personId) =>
        deps.accessLog.append({
          requestId: runId,
          partyId: PARTY_ID,
          clientId: CLIENT_ID,
          roles: [],
          purpose: agreementId,
          action: RETENTION_ACTION,
          subjectRef: personId,
          datasets: [datasetId],
          fields: [],
          decision,
          reasonCode,
        }),
      ),
    );
}

/** A pass that broke off; names the kind of error only (a driver's message can quote a value). */
export class RetentionFailed extends Error {
  constructor(readonly kind: string) {
    super(`Retention enforcement failed (${kind})`);
    this.name = 'RetentionFailed';
  }
}
