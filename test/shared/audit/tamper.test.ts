import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { signCheckpoint, type Checkpoint } from '../../../shared/audit/checkpoint.js';
import { leafHashes } from '../../support/stored-leaves.js';
import { rootFromLeafHashes } from '../../../shared/audit/merkle.js';
import { verifyAccessLog } from '../../../shared/audit/verify-log.js';
import { createLogger } from '../../../shared/logging.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const KEY_ID = 'audit-signing-key/test';
const keys = new Map([[KEY_ID, publicKey]]);

/**
 * What a database administrator could do to the log behind the application's back. The
 * append-only triggers are dropped first — the point is what verification catches once the
 * engine's own protection has been removed.
 */
describe('access log tamper detection', () => {
  let store: Store;
  let checkpoints: Checkpoint[];

  const checkpointAt = async (size: number): Promise<Checkpoint> => {
    const root = rootFromLeafHashes(await leafHashes(store, size)).toString('hex');
    return signCheckpoint(
      { treeSize: size, rootHash: root, time: new Date(Date.UTC(2026, 10, 23, 9, 0, size)).toISOString() },
      privateKey,
      KEY_ID,
    );
  };
  const verify = () => verifyAccessLog(store, checkpoints, keys);

  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-tamper-')), 'log.db') });
    await migrateToLatest(store);
    const log = new AccessLog(store, createLogger('error'));
    for (let i = 1; i <= 60; i++) {
      await log.append({
        requestId: `req-${i}`,
        partyId: i % 2 ? 'kettering-borough-council' : 'keyways-registered-providers',
        clientId: 'client',
        roles: ['housing-officer'],
        purpose: 'housing-allocation',
        action: 'person.search',
        subjectRef: `person-${i % 7}`,
        datasets: ['keyways-housing-register'],
        fields: ['keyways-housing-register.firstName'],
        decision: i % 5 ? 'allow' : 'deny',
        reasonCode: i % 5 ? 'granted' : 'no-match',
      });
    }
    checkpoints = [await checkpointAt(20), await checkpointAt(40), await checkpointAt(60)];
    await sql`drop trigger access_log_no_update`.execute(store.db);
    await sql`drop trigger access_log_no_delete`.execute(store.db);
  });
  afterEach(async () => {
    await store.close();
  });

  it('passes an untouched log', async () => {
    const report = await verify();
    expect(report).toMatchObject({ ok: true, entries: 60, checkpoints: 3, firstBadSeq: null });
  });

  it('names an altered entry', async () => {
    await sql`update access_log set decision = 'allow' where seq = 35`.execute(store.db);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstBadSeq).toBe(35);
    expect(report.problems[0]).toMatchObject({ kind: 'entry-altered', seq: 35 });
  });

  it('names a deleted entry', async () => {
    await sql`delete from access_log where seq = 17`.execute(store.db);
    const report = await verify();
    expect(report.firstBadSeq).toBe(17);
    expect(report.problems.map((p) => p.kind)).toContain('entry-missing');
  });

  it('names the first of two reordered entries', async () => {
    await sql`update access_log set seq = -1 where seq = 8`.execute(store.db);
    await sql`update access_log set seq = 8 where seq = 9`.execute(store.db);
    await sql`update access_log set seq = 9 where seq = -1`.execute(store.db);
    expect((await verify()).firstBadSeq).toBe(8);
  });

  it('names an inserted entry', async () => {
    // Make room at 12 by moving 12..60 up one, then insert a forged row copied from 11.
    await sql`update access_log set seq = seq + 1000 where seq >= 12`.execute(store.db);
    await sql`update access_log set seq = seq - 999 where seq >= 1012`.execute(store.db);
    await sql`insert into access_log select 12, time, 'forged', party_id, client_id, roles, purpose, action, subject_ref, datasets, fields, decision, reason_code, leaf_hash from access_log where seq = 11`.execute(
      store.db,
    );
    expect((await verify()).firstBadSeq).toBe(12);
  });

  it('catches an entry rewritten together with its stored hash, at the checkpoint covering it', async () => {
    const { encodeEntry } = await import('../../../shared/audit/entry-codec.js');
    const { leafHash } = await import('../../../shared/audit/merkle.js');
    const { fromRow } = await import('../../../shared/audit/access-log-rows.js');
    const row = await store.db.selectFrom('access_log').selectAll().where('seq', '=', 31).executeTakeFirstOrThrow();
    const forged = { ...fromRow(row), decision: 'deny', reasonCode: 'no-match' };
    await store.db
      .updateTable('access_log')
      .set({ decision: 'deny', reason_code: 'no-match', leaf_hash: leafHash(encodeEntry(forged)) })
      .where('seq', '=', 31)
      .execute();
    const report = await verify();
    expect(report.ok).toBe(false);
    // The checkpoint at 20 still matches; the one at 40 does not: the rewrite is after 20.
    expect(report.problems[0]).toMatchObject({ kind: 'checkpoint-mismatch', seq: 21, checkpoint: 1 });
  });

  it('catches removal of the newest entries', async () => {
    await sql`delete from access_log where seq > 55`.execute(store.db);
    const report = await verify();
    expect(report.problems).toContainEqual({ kind: 'log-truncated', seq: 56, checkpoint: 2 });
  });

  it('catches a rewritten checkpoint', async () => {
    checkpoints[1] = { ...checkpoints[1]!, rootHash: '0'.repeat(64) };
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual({ kind: 'checkpoint-signature', seq: 40, checkpoint: 1 });
  });
});
