import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Kysely, KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { createLogger } from '../../../shared/logging.js';
import { openStore } from '../../../shared/store/database.js';
import { enforceRetention, RETENTION_ACTION } from '../../../shared/retention/enforce-retention.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { AGREEMENTS_DIR, createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { failingDeletionFrom } from '../../support/failing-deletion.js';
import { importEach, nhs, personOf } from '../../support/linked-people.js';
import type { Database } from '../../../shared/store/schema.js';

/**
 * A retention pass writes each person's `retention-delete` entry to the access log before its
 * deletion commits, so that no deletion happens that the log does not show. A pass that breaks
 * off with an error follows them with `retention-not-committed`; one whose process dies between
 * the two (killed by the host, out of memory) cannot. The next pass must say so for it, or the
 * log tells a subject access request that the person's data left the joint system at a time it
 * was still held, and shows two deletions for the one that happened.
 */
const AGREEMENT = 'social-care-education-housing';
const BOB = nhs(520);

describe('a retention pass killed after its log entries, before its deletion committed', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await seedBob();
  });
  afterAll(async () => h.close());

  it('is told in the log as not committed by the next pass, which deletes and is logged once', async () => {
    const bob = await personOf(h, 'la-housing', 'BOB');
    const killed = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'test/shared/retention/kill-retention.child.ts'],
      {
        env: {
          ...process.env,
          KILL_SQLITE_PATH: h.paths.sqlite,
          KILL_AGREEMENTS_DIR: AGREEMENTS_DIR,
          KILL_AGREEMENT: AGREEMENT,
        },
      },
    ).then(
      () => undefined,
      (err: unknown) => err as { signal?: string; stderr?: string; code?: number },
    );
    expect(killed?.signal, `${killed?.code} ${killed?.stderr}`).toBe('SIGKILL');
    // Rolled back: Bob's records are all still held.
    expect(
      await h.store.db.selectFrom('source_record').select('id').where('person_id', '=', bob).execute(),
    ).toHaveLength(2);

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1, recordsDeleted: 2 });
    expect(await h.store.db.selectFrom('source_record').select('id').where('person_id', '=', bob).execute()).toEqual(
      [],
    );

    const entries = await h.store.db
      .selectFrom('access_log')
      .select(['request_id', 'subject_ref', 'decision', 'reason_code'])
      .where('action', '=', RETENTION_ACTION)
      .orderBy('seq')
      .execute();
    const [killedRun, nextRun] = [...new Set(entries.map((e) => e.request_id))];
    expect(entries).toEqual([
      { request_id: killedRun, subject_ref: bob, decision: 'allow', reason_code: 'retention-keep-while' },
      { request_id: killedRun, subject_ref: bob, decision: 'deny', reason_code: 'retention-not-committed' },
      { request_id: nextRun, subject_ref: bob, decision: 'allow', reason_code: 'retention-keep-while' },
    ]);

    // A later pass has nothing more to say about the killed one.
    await linkPendingRecords(h.linkDeps());
    await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(
      await h.store.db.selectFrom('access_log').select('seq').where('action', '=', RETENTION_ACTION).execute(),
    ).toHaveLength(3);
  });
});

/**
 * The store's connection lost while it confirmed the commit (on SQL Server the acknowledgement of
 * a COMMIT lost on the network): the deletion committed, and the pass is told it failed. Its
 * `retention-delete` entries are then the truth; a `retention-not-committed` after them would tell
 * a subject access request that the person's data was still held when it was gone. Simulated on
 * SQLite by a store whose transactions commit and then throw.
 */
describe('a retention pass whose deletion committed but was reported as failed', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await seedBob();
  });
  afterAll(async () => h.close());

  it('is not followed by retention-not-committed, and the next pass says nothing more', async () => {
    const bob = await personOf(h, 'la-housing', 'BOB');
    const deps = h.retentionDeps();
    await expect(
      enforceRetention({ ...deps, store: { ...deps.store, db: commitThenLoseConnection(deps.store.db) } }, AGREEMENT),
    ).rejects.toThrow('Retention enforcement failed');
    // Committed: Bob is gone.
    expect(await h.store.db.selectFrom('source_record').select('id').where('person_id', '=', bob).execute()).toEqual(
      [],
    );

    const entries = () =>
      h.store.db
        .selectFrom('access_log')
        .select(['subject_ref', 'decision', 'reason_code'])
        .where('action', '=', RETENTION_ACTION)
        .orderBy('seq')
        .execute();
    expect(await entries()).toEqual([{ subject_ref: bob, decision: 'allow', reason_code: 'retention-keep-while' }]);
    expect(await h.store.db.selectFrom('retention_run').select('id').execute()).toEqual([]);

    await linkPendingRecords(h.linkDeps());
    await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(await entries()).toHaveLength(1);
  });
});

/**
 * A pass whose deletion failed follows its own entries with `retention-not-committed`; the next
 * pass of the rule does the same for a pass whose note it finds unmarked. Should the next pass
 * take the linking lock while the failed one is between reading its note and writing those
 * entries, both tell the same people (the next pass's check cannot see entries not yet written):
 * the log would show the deletion as not committed twice. Held deterministically: the failed
 * pass's read of its note returns only once the next pass, on a connection of its own, is done.
 */
describe('a failed retention pass and the next pass telling its entries at once', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await seedBob();
  });
  afterAll(async () => h.close());

  it('tell each person of the failed pass as not committed once', async () => {
    const bob = await personOf(h, 'la-housing', 'BOB');
    const next = openStore({ engine: 'sqlite', path: h.paths.sqlite });
    const logger = createLogger('error');
    let nextPass: Promise<unknown> | undefined;
    const deletion = failingDeletionFrom('source_record');
    const heldReads = new Set<unknown>();
    const holdNoteReadAfterDeletionFailed: KyselyPlugin = {
      transformQuery: (args) => {
        const node = args.node;
        if (
          node.kind === 'SelectQueryNode' &&
          JSON.stringify(node.from ?? null).includes('"retention_run"') &&
          deletion.failed &&
          !nextPass
        )
          heldReads.add(args.queryId);
        return node;
      },
      transformResult: async (args) => {
        if (heldReads.delete(args.queryId))
          await (nextPass = enforceRetention(
            { store: next, agreements: h.retentionDeps().agreements, accessLog: new AccessLog(next, logger), logger },
            AGREEMENT,
          ));
        return args.result;
      },
    };
    try {
      const deps = h.retentionDeps();
      await expect(
        enforceRetention(
          {
            ...deps,
            store: {
              ...deps.store,
              db: deps.store.db.withPlugin(deletion).withPlugin(holdNoteReadAfterDeletionFailed),
            },
          },
          AGREEMENT,
        ),
      ).rejects.toThrow('Retention enforcement failed');
      expect(nextPass, 'the next pass ran while the failed one was held').toBeDefined();
      await expect(nextPass).resolves.toMatchObject([{ outcome: 'enforced', peopleDeleted: 1 }]);
    } finally {
      await next.close();
    }

    const entries = await h.store.db
      .selectFrom('access_log')
      .select(['request_id', 'subject_ref', 'decision', 'reason_code'])
      .where('action', '=', RETENTION_ACTION)
      .orderBy('seq')
      .execute();
    const [failedRun, nextRun] = [...new Set(entries.map((e) => e.request_id))];
    expect(entries).toEqual([
      { request_id: failedRun, subject_ref: bob, decision: 'allow', reason_code: 'retention-keep-while' },
      { request_id: failedRun, subject_ref: bob, decision: 'deny', reason_code: 'retention-not-committed' },
      { request_id: nextRun, subject_ref: bob, decision: 'allow', reason_code: 'retention-keep-while' },
    ]);
    expect(await h.store.db.selectFrom('retention_run').select('id').execute()).toEqual([]);
  });
});

/** Bob, out of Housing's temporary accommodation, known to Housing and to social care, linked. */
async function seedBob(): Promise<ImportHarness> {
  const h = await createImportHarness();
  await importEach(h, [
    [
      'la-housing',
      [
        'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
        `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`,
      ],
    ],
    [
      'la-childrens-social-care',
      [
        'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
        `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,N`,
      ],
    ],
  ]);
  await linkPendingRecords(h.linkDeps());
  return h;
}

/** `db`, whose transactions commit and then fail, as when the connection drops while confirming. */
function commitThenLoseConnection(db: Kysely<Database>): Kysely<Database> {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction')
        return () => {
          const builder = target.transaction();
          return {
            execute: async <T>(work: (trx: Kysely<Database>) => Promise<T>) => {
              await builder.execute(work);
              throw new Error('connection lost while confirming the commit');
            },
          };
        };
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Notes the passes of the rule left and that can no longer tell anything: of a pass whose process
 * died before it wrote any entry (killed while it waited for the linking lock, or while it
 * judged), and of one that committed but could not drop its note. Every later pass reads them, so
 * they must not stay for good. One without entries might still be of a pass waiting for the lock,
 * so it goes only once older than any pass can run; and a pass whose note went meanwhile deletes
 * nothing, as its entries would have no note to be told by should it die.
 */
describe('retention notes that can tell nothing more', () => {
  let h: ImportHarness;

  beforeAll(async () => {
    h = await seedBob();
  });
  afterAll(async () => h.close());

  const note = (id: string, startedAt: Date, committedAt: Date | null) => ({
    id,
    agreement_id: AGREEMENT,
    dataset_id: 'multiple-disadvantage-indicators',
    started_at: startedAt.toISOString(),
    committed_at: committedAt?.toISOString() ?? null,
  });
  const notes = async () =>
    (await h.store.db.selectFrom('retention_run').select('id').orderBy('id').execute()).map((n) => n.id);
  const retentionEntries = () =>
    h.store.db.selectFrom('access_log').select('seq').where('action', '=', RETENTION_ACTION).execute();

  it('a pass whose note is gone when it holds the lock deletes nothing and writes no entry', async () => {
    const bob = await personOf(h, 'la-housing', 'BOB');
    const deps = h.retentionDeps();
    await expect(
      enforceRetention(
        { ...deps, store: { ...deps.store, db: dropNotesBeforeEachTransaction(deps.store.db) } },
        AGREEMENT,
      ),
    ).rejects.toThrow('Retention enforcement failed');
    expect(
      await h.store.db.selectFrom('source_record').select('id').where('person_id', '=', bob).execute(),
    ).toHaveLength(2);
    expect(await retentionEntries()).toEqual([]);
  });

  it('are dropped by the next pass: one that committed, and one without entries older than any pass', async () => {
    await h.close();
    h = await seedBob();
    const day = 24 * 60 * 60 * 1000;
    const now = Date.now();
    await h.store.db
      .insertInto('retention_run')
      .values([
        note('a-died-before-any-entry', new Date(now - 2 * day), null),
        note('b-committed-note-left', new Date(now - 60_000), new Date(now - 50_000)),
        note('c-may-still-wait-for-the-lock', new Date(now - 60_000), null),
      ])
      .execute();

    const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);
    expect(summary).toMatchObject({ outcome: 'enforced', peopleDeleted: 1 });
    expect(await notes()).toEqual(['c-may-still-wait-for-the-lock']);
    // Only the pass's own deletion is in the log: nothing was told of the notes dropped.
    expect(await retentionEntries()).toHaveLength(1);
  });
});

/** `db`, whose every transaction begins after the retention notes are dropped. */
function dropNotesBeforeEachTransaction(db: Kysely<Database>): Kysely<Database> {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === 'transaction')
        return () => ({
          execute: async <T>(work: (trx: Kysely<Database>) => Promise<T>) => {
            await target.deleteFrom('retention_run').execute();
            return target.transaction().execute(work);
          },
        });
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
