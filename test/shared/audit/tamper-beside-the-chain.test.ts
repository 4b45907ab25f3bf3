import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog, type AccessLogRecord } from '../../../shared/audit/access-log.js';
import { fromRow, toRow } from '../../../shared/audit/access-log-rows.js';
import { consistencyProofFor, inclusionProofFor, LOG_INCONSISTENT } from '../../../shared/audit/audit-service.js';
import type { AnchorLog } from '../../../shared/audit/anchor-log.js';
import { signCheckpoint, type Checkpoint } from '../../../shared/audit/checkpoint.js';
import { writeCheckpoint } from '../../../shared/audit/checkpointer.js';
import { leafHashes } from '../../support/stored-leaves.js';
import { restoreStoreState, storeState, type StoreState } from '../../support/store-state.js';
import { encodeEntry } from '../../../shared/audit/entry-codec.js';
import { leafHash, rootFromLeafHashes } from '../../../shared/audit/merkle.js';
import { accessesToPerson, auditScope } from '../../../shared/audit/dpo-views.js';
import { verifyAccessLog } from '../../../shared/audit/verify-log.js';
import { createLogger } from '../../../shared/logging.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import type { Services } from '../../../shared/services.js';
import { migrateToLatest, openStore, ShadowedAccessLogError, type Store } from '../../../shared/store/database.js';

/**
 * Tampering that leaves the hash chain alone but changes what readers see, by someone who can
 * write the SQLite store file (not the signing key): a copy of the log planted in the store
 * file, a column's storage class changed, a list column rewritten as other JSON for the same
 * list, rows slipped in below seq 1, the log's table rebuilt without its primary key so that
 * rows hide beside the sequence. Each must fail verification (or stop lintel), not pass while
 * the DPO's queries and the watch rules read something else.
 */
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const KEY_ID = 'audit-signing-key/test';
const keys = new Map([[KEY_ID, publicKey]]);

const entry = (i: number, subjectRef: string): AccessLogRecord => ({
  requestId: `req-${i}`,
  partyId: 'kettering-borough-council',
  clientId: 'client',
  roles: ['housing-officer'],
  purpose: 'housing-allocation',
  action: 'person.search',
  subjectRef,
  datasets: ['keyways-housing-register'],
  fields: ['keyways-housing-register.firstName'],
  decision: 'allow',
  reasonCode: 'granted',
});

/** The signing key as the checkpointer and the proofs read it, every version the test key. */
const secrets = {
  get: async () => ({ value: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), version: 'test' }),
} as unknown as SecretSource;

/** An anchor log in memory holding `anchoredAlready`, and the signing key as the checkpointer reads it. */
function checkpointing(anchoredAlready: readonly Checkpoint[]) {
  const anchored = [...anchoredAlready];
  const anchors = {
    latest: async () => anchored.at(-1),
    latestAnchored: async () => ({ checkpoint: anchored.at(-1), damaged: [], refused: [] }),
    append: async (c: Checkpoint) => {
      anchored.push(c);
      return { blob: 'checkpoints/in-memory.jsonl', containerCreated: false };
    },
    holds: async (_blob: string, c: Checkpoint) => anchored.includes(c),
    blobNames: async () => (anchored.length === 0 ? [] : ['checkpoints/in-memory.jsonl']),
    checkpointsIn: async () => [...anchored],
    blockCount: async () => anchored.length,
  } as unknown as AnchorLog;
  return { anchored, anchors, secrets };
}

describe('tampering beside the hash chain (SQLite)', () => {
  let dir: string;
  let path: string;
  let store: Store;
  let log: AccessLog;
  let twentyEntries: StoreState;
  let signedAtTwenty: Checkpoint;
  let checkpoints: Checkpoint[];
  const verify = () => verifyAccessLog(store, checkpoints, keys);

  // One store for every case, put back before each as the twenty entries and their checkpoint left it.
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lintel-tamper-'));
    path = join(dir, 'lintel.db');
    store = openStore({ engine: 'sqlite', path });
    await migrateToLatest(store);
    log = new AccessLog(store, createLogger('error'));
    for (let i = 1; i <= 20; i++) await log.append(entry(i, `person-${i % 4}`));
    const root = rootFromLeafHashes(await leafHashes(store, 20)).toString('hex');
    signedAtTwenty = signCheckpoint(
      { treeSize: 20, rootHash: root, time: '2026-12-02T09:00:00.000Z' },
      privateKey,
      KEY_ID,
    );
    twentyEntries = storeState(store);
  });
  beforeEach(() => {
    restoreStoreState(store, twentyEntries);
    checkpoints = [signedAtTwenty];
  });
  afterAll(async () => {
    await log?.close();
    await store?.close();
  });

  it('refuses to run, to verify and to checkpoint beside a copy of the log planted in the store file', async () => {
    const planter = new SqliteDatabase(path);
    planter.prepare('attach database ? as audit').run(join(dir, 'lintel.access-log.db'));
    // In other letters: SQLite finds table names whatever their case.
    planter.exec('create table main.Access_Log as select * from audit.access_log');
    planter.close();

    // The running process: verification and the checkpointer see the copy for what it is.
    expect(await verify()).toMatchObject({ ok: false, problems: [{ kind: 'log-hidden', seq: 1 }] });
    const { anchors, secrets } = checkpointing(checkpoints);
    expect(await writeCheckpoint({ store, anchors, secrets, logger: createLogger('error') })).toEqual({
      checkpoint: undefined,
      alarm: true,
    });

    // A new process (an instance starting, the CLI) will not run at all.
    const reopened = openStore({ engine: 'sqlite', path });
    try {
      await expect(migrateToLatest(reopened)).rejects.toBeInstanceOf(ShadowedAccessLogError);
    } finally {
      await reopened.close();
    }
  });

  // The index of the people an entry about several names (migration 0050) is no part of the chain,
  // but an empty copy in the store file would hide those entries from every subject access request.
  it('refuses to run beside a copy of the index of subjects planted in the store file', async () => {
    const planter = new SqliteDatabase(path);
    planter.exec('create table main.access_log_subject_id (person_id text, seq integer)');
    planter.close();

    const reopened = openStore({ engine: 'sqlite', path });
    try {
      await expect(migrateToLatest(reopened)).rejects.toBeInstanceOf(ShadowedAccessLogError);
    } finally {
      await reopened.close();
    }
  });

  it("fails verification, and will not be signed, when a column's text is stored as a blob of the same bytes", async () => {
    await sql`drop trigger access_log_no_update`.execute(store.db);
    await sql`update access_log set subject_ref = cast(subject_ref as blob) where seq = 5`.execute(store.db);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 5, problems: [{ kind: 'entry-altered', seq: 5 }] });
    // Done before the first checkpoint, the checkpointer judges the row as verify does (found by a review).
    const { anchored, anchors, secrets } = checkpointing([]);
    expect(await writeCheckpoint({ store, anchors, secrets, logger: createLogger('error') })).toEqual({
      checkpoint: undefined,
      alarm: true,
    });
    expect(anchored).toEqual([]);
  });

  it('gives no proof over entries rewritten with their hashes, whose root is no longer the signed one', async () => {
    const services = {
      store,
      anchors: { readAnchored: async () => ({ checkpoints, damaged: [] }) },
      secrets,
    } as unknown as Services;
    const before = await inclusionProofFor(services, 3);
    expect(before).toMatchObject({ treeSize: 20, checkpointed: true, checkpoint: checkpoints[0] });
    await sql`drop trigger access_log_no_update`.execute(store.db);
    const row = await store.db.selectFrom('access_log').selectAll().where('seq', '=', 3).executeTakeFirstOrThrow();
    const forged = { ...fromRow(row), decision: 'deny' as const, reasonCode: 'no-match' };
    await store.db
      .updateTable('access_log')
      .set({ decision: 'deny', reason_code: 'no-match', leaf_hash: leafHash(encodeEntry(forged)) })
      .where('seq', '=', 3)
      .execute();
    expect(await inclusionProofFor(services, 3)).toBe(LOG_INCONSISTENT);
    expect(await consistencyProofFor(services, 10, 20)).toBe(LOG_INCONSISTENT);
    // Nor at a tree size the caller names, inside the checkpoint or past it: each tree holds the
    // rewritten entry (found by a review).
    for (let i = 21; i <= 25; i++) await log.append(entry(i, `person-${i % 4}`));
    expect(await inclusionProofFor(services, 3, 10)).toBe(LOG_INCONSISTENT);
    expect(await inclusionProofFor(services, 3, 25)).toBe(LOG_INCONSISTENT);
    expect(await inclusionProofFor(services, 22, 25)).toBe(LOG_INCONSISTENT);
    expect(await consistencyProofFor(services, 5, 25)).toBe(LOG_INCONSISTENT);
  });

  it('gives proofs at any tree size while the log leads to every checkpoint root, and none once it is cut short', async () => {
    for (let i = 21; i <= 25; i++) await log.append(entry(i, `person-${i % 4}`));
    const services = {
      store,
      anchors: { readAnchored: async () => ({ checkpoints, damaged: [] }) },
      secrets,
    } as unknown as Services;
    expect(await inclusionProofFor(services, 3, 10)).toMatchObject({ treeSize: 10, checkpointed: false });
    expect(await inclusionProofFor(services, 23, 25)).toMatchObject({ treeSize: 25, checkpointed: false });
    expect(await consistencyProofFor(services, 5, 25)).toMatchObject({ from: 5, to: 25 });
    await sql`drop trigger access_log_no_delete`.execute(store.db);
    await sql`delete from access_log where seq > 15`.execute(store.db);
    expect(await inclusionProofFor(services, 3, 10)).toBe(LOG_INCONSISTENT);
  });

  it('fails verification when a list column is rewritten as other JSON for the same list', async () => {
    await sql`drop trigger access_log_no_update`.execute(store.db);
    // The watch rules search this text with `like`: escaped, the field no longer matches.
    const escaped = String.raw`["keyways-housing-register.\u0066irstName"]`;
    await sql`update access_log set fields = ${escaped} where seq = 7`.execute(store.db);
    // An object with numbered keys and a length: the DPO's view would show no fields at all.
    await sql`update access_log set roles = '{"0":"housing-officer","length":1}' where seq = 12`.execute(store.db);
    const report = await verify();
    expect(report).toMatchObject({ ok: false, firstBadSeq: 7 });
    expect(report.problems).toEqual([
      { kind: 'entry-altered', seq: 7 },
      { kind: 'entry-altered', seq: 12 },
    ]);
  });

  it('will not sign entries written since the last checkpoint that no longer hash as written', async () => {
    for (let i = 21; i <= 25; i++) await log.append(entry(i, `person-${i % 4}`));
    const { anchored, anchors, secrets } = checkpointing(checkpoints);
    const checkpoint = () => writeCheckpoint({ store, anchors, secrets, logger: createLogger('error') });

    await sql`drop trigger access_log_no_update`.execute(store.db);
    await sql`update access_log set decision = 'deny' where seq = 23`.execute(store.db);
    expect(await checkpoint()).toEqual({ checkpoint: undefined, alarm: true });
    await sql`update access_log set decision = 'allow' where seq = 23`.execute(store.db);
    await sql`drop trigger access_log_no_delete`.execute(store.db);
    await sql`delete from access_log where seq = 22`.execute(store.db);
    expect(await checkpoint()).toEqual({ checkpoint: undefined, alarm: true });
    expect(anchored).toHaveLength(1);
  });

  it('signs the entries written since the last checkpoint when they are as written', async () => {
    for (let i = 21; i <= 25; i++) await log.append(entry(i, `person-${i % 4}`));
    const { anchored, anchors, secrets } = checkpointing(checkpoints);
    // Until then the five are chained but not signed, and verification says how many are signed.
    expect(await verifyAccessLog(store, anchored, keys)).toMatchObject({ ok: true, entries: 25, signedEntries: 20 });
    const outcome = await writeCheckpoint({ store, anchors, secrets, logger: createLogger('error') });
    expect(outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 25 } });
    expect(await verifyAccessLog(store, anchored, keys)).toMatchObject({ ok: true, entries: 25, signedEntries: 25 });
  });

  it("fails verification when a row of the subjects' index makes an entry about others read as about someone", async () => {
    // A link review's entry about two people, and a row planted in the index beside the chain
    // that files it (and one still to come) under a third, who never came into it.
    await log.append(entry(21, 'person-A person-B'));
    await sql`insert into access_log_subject_id (person_id, seq) values ('person-victim', 21), ('person-victim', 30)`.execute(
      store.db,
    );
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { kind: 'subject-index-stray', seq: 21 },
      { kind: 'subject-index-stray', seq: 30 },
    ]);
    expect(report.firstBadSeq).toBe(21);
  });

  it("does not show a DPO an entry about others that a row planted in the subjects' index files under the person asked about", async () => {
    // Asked before anyone runs verify: the request reads the index as it finds it.
    await log.append(entry(21, 'person-A person-B'));
    await log.append(entry(22, 'person-victim person-B'));
    await log.append(entry(23, 'person-A person-victim-2'));
    await sql`insert into access_log_subject_id (person_id, seq) values ('person-victim', 21), ('person-victim', 23)`.execute(
      store.db,
    );
    const scope = auditScope(loadAgreements(resolve('agreements')), ['keyways-housing-allocation']);
    const asked = await accessesToPerson(store, scope, 'person-victim', { after: 0, limit: 1 });
    // The page of one is the entry that names the person, not one the planted rows file before it.
    expect(asked.entries.map((e) => e.requestId)).toEqual(['req-22']);
    expect(await accessesToPerson(store, scope, 'person-victim', { after: asked.next!, limit: 1 })).toMatchObject({
      entries: [],
      next: null,
    });
    // The people the entry does name still find it.
    for (const person of ['person-A', 'person-B']) {
      const page = await accessesToPerson(store, scope, person, { after: 20, limit: 10 });
      expect({ person, entries: page.entries.map((e) => e.requestId) }).toEqual({
        person,
        entries: person === 'person-A' ? ['req-21', 'req-23'] : ['req-21', 'req-22'],
      });
    }
  });

  it("fills no row of the subjects' index from an entry it finds altered, so none stays once the entry is put back", async () => {
    await log.append(entry(21, 'person-A person-B'));
    await sql`drop trigger access_log_no_update`.execute(store.db);
    await sql`update access_log set subject_ref = 'person-A person-victim' where seq = 21`.execute(store.db);
    // The entry names the victim now, and person-B's row of it no longer matches it.
    expect((await verify()).problems).toEqual([
      { kind: 'entry-altered', seq: 21 },
      { kind: 'subject-index-stray', seq: 21 },
    ]);
    await sql`update access_log set subject_ref = 'person-A person-B' where seq = 21`.execute(store.db);
    expect(await verify()).toMatchObject({ ok: true, problems: [] });
  });

  it("fills no row of the subjects' index from an entry under the last checkpoint it finds altered, when it fills the log below it", async () => {
    await log.append(entry(21, 'person-A person-B'));
    await log.append(entry(22, 'person-C person-D'));
    // Anchored by older code, which records no fill: the entries under it without their rows, and
    // entry 21 rewritten since with its stored hash kept.
    const root = rootFromLeafHashes(await leafHashes(store, 22)).toString('hex');
    checkpoints.push(
      signCheckpoint({ treeSize: 22, rootHash: root, time: '2026-12-02T10:00:00.000Z' }, privateKey, KEY_ID),
    );
    await sql`drop trigger access_log_subject_id_no_delete`.execute(store.db);
    await sql`delete from access_log_subject_id`.execute(store.db);
    await sql`drop trigger access_log_no_update`.execute(store.db);
    await sql`update access_log set subject_ref = 'person-A person-victim' where seq = 21`.execute(store.db);
    await log.append(entry(23, 'person-E'));

    const { anchors } = checkpointing(checkpoints);
    expect(await writeCheckpoint({ store, anchors, secrets, logger: createLogger('error') })).toMatchObject({
      checkpoint: { treeSize: 23 },
      subjectIndexFilled: 2,
    });
    const rows = await sql<{ seq: number }>`select seq from access_log_subject_id order by seq`.execute(store.db);
    expect(rows.rows.map((r) => Number(r.seq))).toEqual([22, 22]);
  });

  it('fails verification, and will not be signed, when rows are slipped in below seq 1', async () => {
    await sql`insert into access_log select 0, time, 'forged', party_id, client_id, roles, purpose, action,
      'person-Y', datasets, fields, decision, reason_code, leaf_hash from access_log where seq = 2`.execute(store.db);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.firstBadSeq).toBe(0);
    for (let i = 21; i <= 25; i++) await log.append(entry(i, `person-${i % 4}`));
    const { anchored, anchors, secrets } = checkpointing(checkpoints);
    expect(await writeCheckpoint({ store, anchors, secrets, logger: createLogger('error') })).toEqual({
      checkpoint: undefined,
      alarm: true,
    });
    expect(anchored).toHaveLength(1);
  });
});

describe('rows hidden beside the sequence (SQLite, the log table rebuilt without its primary key)', () => {
  let dir: string;
  let store: Store;
  let log: AccessLog;
  let empty: StoreState;

  // One store for both cases, its log put back empty before each.
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lintel-tamper-pk-'));
    store = openStore({ engine: 'sqlite', path: join(dir, 'lintel.db') });
    await migrateToLatest(store);
    log = new AccessLog(store, createLogger('error'));
    empty = storeState(store);
  });
  beforeEach(() => restoreStoreState(store, empty));
  afterAll(async () => {
    await log?.close();
    await store?.close();
  });

  /** The log's table made again with `seq` a plain column, its rows kept. */
  const rebuildWithoutPrimaryKey = async () => {
    await sql`create table audit.access_log_copy as select * from audit.access_log`.execute(store.db);
    await sql`drop table audit.access_log`.execute(store.db);
    await sql`alter table audit.access_log_copy rename to access_log`.execute(store.db);
  };

  it("fills no row of the subjects' index from a second row under a seq, so none stays once it is taken out", async () => {
    for (let i = 1; i <= 3; i++) await log.append(entry(i, i === 2 ? 'person-A person-B' : `person-${i}`));
    await rebuildWithoutPrimaryKey();
    // A second row under seq 2 naming the victim, hashed as its own: only the repeated seq gives it away.
    const honest = fromRow(
      await store.db.selectFrom('access_log').selectAll().where('seq', '=', 2).executeTakeFirstOrThrow(),
    );
    const forged = { ...honest, requestId: 'forged', subjectRef: 'person-A person-victim' };
    await store.db
      .insertInto('access_log')
      .values({ ...toRow(forged), leaf_hash: leafHash(encodeEntry(forged)) })
      .execute();
    // (person-B's row of seq 2 is not named by the second row.)
    expect((await verifyAccessLog(store, [], keys)).problems).toEqual([
      { kind: 'sequence-broken', seq: 2 },
      { kind: 'subject-index-stray', seq: 2 },
    ]);
    await sql`delete from audit.access_log where request_id = 'forged'`.execute(store.db);
    expect(await verifyAccessLog(store, [], keys)).toMatchObject({ ok: true, problems: [] });
  });

  it('names a second row under a seq at the end of a verification page, and a row without a seq', async () => {
    // One full page of the verifier's walk (4,000 rows), so the copy of its last row comes
    // after the page the walk has already left.
    const total = 4000;
    await Promise.all(Array.from({ length: total }, (_, i) => log.append(entry(i + 1, `person-${i % 9}`))));
    const honest = await verifyAccessLog(store, [], keys);
    expect(honest).toMatchObject({ ok: true, entries: total });

    await rebuildWithoutPrimaryKey();
    await sql`insert into audit.access_log select seq, time, 'forged', party_id, 'client-framed', roles, purpose,
      action, 'person-victim', datasets, fields, decision, reason_code, leaf_hash from audit.access_log where seq = ${total}`.execute(
      store.db,
    );
    await sql`insert into audit.access_log select null, time, 'forged-2', party_id, 'client-framed', roles, purpose,
      action, 'person-victim', datasets, fields, decision, reason_code, leaf_hash from audit.access_log where seq = 1`.execute(
      store.db,
    );
    const report = await verifyAccessLog(store, [], keys);
    expect(report.ok).toBe(false);
    expect(report.entries).toBe(total);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        { kind: 'sequence-broken', seq: total },
        { kind: 'entry-unreadable', seq: 0 },
      ]),
    );
    expect(report.firstBadSeq).toBe(0);
  });
});
