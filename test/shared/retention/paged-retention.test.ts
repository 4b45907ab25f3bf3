import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { createLogger } from '../../../shared/logging.js';
import { enforceRetention, RETENTION_ACTION } from '../../../shared/retention/enforce-retention.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { failingDeletionFrom } from '../../support/failing-deletion.js';

/**
 * A council's dataset runs to hundreds of thousands of records, and the retention timer's
 * Functions instance has 2–4 GB: the pass reads the dataset a page at a time (at most 1,000
 * records), judging person by person as the pages pass, however many records there are
 * (bench/retention.ts measures its memory). Here with 1,000 people over 3,000 Housing records,
 * so that the judging pages and the deletion's pages both end inside someone's records.
 */
const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';
const PEOPLE = 1_000;
const PAGE = 1_000;

const personId = (i: number) => `person-${String(i).padStart(6, '0')}`;
/** Every third person is in temporary accommodation, by the last of their three Housing records. */
const kept = (i: number) => i % 3 === 0;
/** Every other person is also known to social care. */
const inSocialCare = (i: number) => i % 2 === 0;

async function seed(store: Store): Promise<void> {
  const now = new Date().toISOString();
  const runs: Record<string, string> = { 'la-housing': randomUUID(), 'la-childrens-social-care': randomUUID() };
  await store.db
    .insertInto('import_run')
    .values(
      Object.entries(runs).map(([party, id]) => ({
        id,
        party_id: party,
        dataset_id: DATASET,
        blob_name: `${party}/${DATASET}/a.csv`,
        content_sha256: id,
        status: 'loaded' as const,
        rows_total: PEOPLE,
        rows_loaded: PEOPLE,
        rows_rejected: 0,
        received_at: now,
        finished_at: now,
        as_of: now.slice(0, 10),
        uploaded_at: now,
      })),
    )
    .execute();
  const record = (party: string, id: string, i: number, attributes: Record<string, unknown>) => ({
    id,
    import_run_id: runs[party]!,
    party_id: party,
    dataset_id: DATASET,
    row_number: i + 2,
    given_name: `P${i}`,
    family_name: 'SMITH',
    first3: 'P',
    date_of_birth: '2012-03-04',
    postcode: null,
    address: null,
    attributes: JSON.stringify(attributes),
    as_of: now.slice(0, 10),
    person_id: personId(i),
  });
  const rows = [];
  const links = [];
  for (let i = 0; i < PEOPLE; i++) {
    // Read in id order within the person: the value that keeps them comes last.
    for (const n of [0, 1, 2])
      rows.push(
        record('la-housing', `h-${String(i).padStart(6, '0')}-${n}`, i, {
          inTemporaryAccommodation: n === 2 && kept(i),
        }),
      );
    if (inSocialCare(i)) {
      rows.push(record('la-childrens-social-care', `s-${String(i).padStart(6, '0')}`, i, { childProtection: false }));
      links.push({
        id: randomUUID(),
        agreement_id: AGREEMENT,
        source_a: `la-housing/${DATASET}`,
        source_b: `la-childrens-social-care/${DATASET}`,
        record_a: `h-${String(i).padStart(6, '0')}-0`,
        record_b: `s-${String(i).padStart(6, '0')}`,
        tier: 1,
        rule: 'nhs',
        score: null,
        status: 'auto' as const,
        first_run_id: 'test',
        last_run_id: 'test',
        created_at: now,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 200)
    await store.db
      .insertInto('source_record')
      .values(rows.slice(i, i + 200))
      .execute();
  for (let i = 0; i < links.length; i += 200)
    await store.db
      .insertInto('record_link')
      .values(links.slice(i, i + 200))
      .execute();
}

/** A store seeded as above, with its access log, for one describe block. */
function seededStore() {
  const dir = mkdtempSync(join(tmpdir(), 'lintel-paged-retention-'));
  const store = openStore({ engine: 'sqlite', path: join(dir, 'lintel.db') });
  const logger = createLogger('warn', () => undefined);
  const accessLog = new AccessLog(store, logger);
  const agreements = loadAgreements(resolve('agreements'));
  beforeAll(async () => {
    await migrateToLatest(store);
    await seed(store);
  });
  afterAll(async () => {
    await accessLog.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, logger, accessLog, agreements };
}

describe('joint-system retention over a dataset larger than a page', () => {
  const { store, logger, accessLog, agreements } = seededStore();

  it('reads no more than a page at a time, and judges and logs each person once across the pages', async () => {
    let mostRows = 0;
    const rowCounter: KyselyPlugin = {
      transformQuery: (args) => args.node,
      transformResult: async (args) => {
        mostRows = Math.max(mostRows, args.result.rows.length);
        return args.result;
      },
    };

    const [summary] = await enforceRetention(
      { store: { ...store, db: store.db.withPlugin(rowCounter) }, agreements, accessLog, logger },
      AGREEMENT,
    );

    const gone = Array.from({ length: PEOPLE }, (_, i) => i).filter((i) => !kept(i));
    const goneRecords = gone.reduce((n, i) => n + 3 + (inSocialCare(i) ? 1 : 0), 0);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: gone.length, recordsDeleted: goneRecords });
    expect(mostRows, 'rows one read of the pass brought into memory').toBeLessThanOrEqual(PAGE);

    // One entry for each person deleted, though the deletion's pages split some of them.
    const entries = await store.db
      .selectFrom('access_log')
      .select('subject_ref')
      .where('action', '=', RETENTION_ACTION)
      .orderBy('subject_ref')
      .execute();
    expect(entries.map((e) => e.subject_ref)).toEqual(gone.map(personId));
    // Everyone the last of their Housing records keeps is kept whole, though a page ended
    // before that record.
    const left = await store.db
      .selectFrom('source_record')
      .select('person_id')
      .distinct()
      .orderBy('person_id')
      .execute();
    expect(left.map((r) => r.person_id)).toEqual(
      Array.from({ length: PEOPLE }, (_, i) => i)
        .filter(kept)
        .map(personId),
    );
    const links = await store.db.selectFrom('record_link').select(['record_a', 'record_b']).execute();
    const held = new Set((await store.db.selectFrom('source_record').select('id').execute()).map((r) => r.id));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !held.has(l.record_a) || !held.has(l.record_b))).toEqual([]);
  });
});

describe('joint-system retention that breaks off after some pages', () => {
  const { store, logger, accessLog, agreements } = seededStore();

  it('gives every person whose deletion it logged a not-committed entry, and deletes nothing', async () => {
    // The second page's deletion fails (a lost connection, say), after both pages' entries.
    const failSecondDelete = failingDeletionFrom('source_record', 2);
    const before = await store.db.selectFrom('source_record').select('id').execute();

    await expect(
      enforceRetention(
        { store: { ...store, db: store.db.withPlugin(failSecondDelete) }, agreements, accessLog, logger },
        AGREEMENT,
      ),
    ).rejects.toThrow('Retention enforcement failed');

    const entries = await store.db
      .selectFrom('access_log')
      .select(['subject_ref', 'decision', 'reason_code'])
      .where('action', '=', RETENTION_ACTION)
      .execute();
    const of = (reason: string) =>
      entries
        .filter((e) => e.reason_code === reason)
        .map((e) => e.subject_ref)
        .sort();
    const claimed = of('retention-keep-while');
    expect(claimed.length).toBeGreaterThan(0);
    expect(claimed.length).toBeLessThan(PEOPLE - Math.ceil(PEOPLE / 3));
    expect(of('retention-not-committed')).toEqual(claimed);
    expect(await store.db.selectFrom('source_record').select('id').execute()).toHaveLength(before.length);
  });
});
