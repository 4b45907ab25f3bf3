import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enforceRetention, RETENTION_ACTION } from '../../../shared/retention/enforce-retention.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import { AGREEMENTS_DIR, createImportHarness, type ImportHarness } from '../imports/import-harness.js';
import { importEach, nhs, personOf } from '../../support/linked-people.js';

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
    h = await createImportHarness();
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
