import type { Selectable } from 'kysely';
import { BatchedInsert, inSlices } from '../store/batched-insert.js';
import type { Store } from '../store/database.js';
import type { AnchoredCheckpointTable } from '../store/schema.js';
import type { AnchorLog } from './anchor-log.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * The store's own record of the checkpoints the checkpointer anchored (migration 0032), and the
 * blob each went to. The anchor container is WORM only once its immutability policy is locked;
 * before that, and locally, a blob can be deleted, or deleted and written again shorter, and the
 * anchor log alone cannot tell that from a log never anchored (found by a defect hunt). Compared
 * with the anchors, the record says that a checkpoint is gone: the checkpointer raises the alarm
 * and verify names the blob. Written after the append, so it never names a checkpoint that was
 * not anchored; a record lost after its append (the process ended) only leaves that one unchecked.
 *
 * A line can be recorded twice: a run that has appended and not yet recorded its checkpoint, while
 * another, its process just started, records what the record predates ({@link
 * recordAnchoredCheckpoints}) and finds that line among them (found by a review). The record is
 * read as the lines it names, each once: counted twice, the line made its blob read as holding
 * more than it does, downloaded at every run to look for a line it held, and reported by verify,
 * once gone, as two lost. Not kept out by a unique key: the table is append-only (a ledger on Azure
 * SQL), so a migration could not remove a duplicate already written, nor make the key over one.
 */
export interface AnchoredCheckpoint {
  blob: string;
  checkpoint: Checkpoint;
}

export async function recordAnchoredCheckpoint(store: Store, anchored: AnchoredCheckpoint): Promise<void> {
  await store.db.insertInto('anchored_checkpoint').values(rowOf(anchored)).execute();
}

/** An anchored checkpoint as the row that records it. */
function rowOf({ blob, checkpoint }: AnchoredCheckpoint) {
  return {
    blob,
    tree_size: checkpoint.treeSize,
    root_hash: checkpoint.rootHash,
    time: checkpoint.time,
    key_id: checkpoint.keyId,
    signature: checkpoint.signature,
  };
}

/** The columns of an anchored checkpoint's row, in the order of {@link valuesOf}. */
const ANCHORED_COLUMNS = ['blob', 'tree_size', 'root_hash', 'time', 'key_id', 'signature'];

/** An anchored checkpoint's row as its values, in the order of {@link ANCHORED_COLUMNS}. */
function valuesOf(anchored: AnchoredCheckpoint): (string | number)[] {
  const row = rowOf(anchored);
  return [row.blob, row.tree_size, row.root_hash, row.time, row.key_id, row.signature];
}

/**
 * Checkpoints the store did not record when they were anchored (before migration 0032), found
 * since in their blobs ({@link checkpointsTheRecordPredates}): all in one transaction, so that a
 * run ended half-way leaves the record as it was and the next run finds them all still to record,
 * and none that another run recorded meanwhile, which would make its blob read as short of one.
 */
export async function recordAnchoredCheckpoints(store: Store, anchored: readonly AnchoredCheckpoint[]): Promise<void> {
  if (anchored.length === 0) return;
  await store.db.transaction().execute(async (trx) => {
    const blobs = [...new Set(anchored.map(({ blob }) => blob))];
    const rows = await inSlices(store.dialect.engine, blobs, (slice) =>
      trx.selectFrom('anchored_checkpoint').selectAll().where('blob', 'in', slice).execute(),
    );
    const recorded = new Set(rows.map((row) => `${row.blob} ${checkpointIdentity(fromRow(row).checkpoint)}`));
    const toRecord = anchored.filter(
      ({ blob, checkpoint }) => !recorded.has(`${blob} ${checkpointIdentity(checkpoint)}`),
    );
    const insert = new BatchedInsert(store.dialect.engine, 'anchored_checkpoint', ANCHORED_COLUMNS);
    for (const checkpoint of toRecord) {
      insert.push(valuesOf(checkpoint));
      if (insert.full) await insert.flush(trx, false);
    }
    await insert.flush(trx, true);
  });
}

/**
 * The anchored checkpoints the record predates (anchored before migration 0032) that `signed`
 * takes, with their blobs: to be recorded, so that the versions of the signing key they were
 * signed under count as the log's own once a rotation has disabled them ({@link recordedKeyIds}).
 *
 * Only a line a version of the log's key verifies while it can still be read is taken: that
 * version signed for this log, which no one without its private key can make a line show. A line
 * under a made-up version, or any other no key verifies, is never recorded and stays forged; a
 * version gone before any run read its lines cannot be told from a made-up one, and its lines
 * stay forged as well.
 *
 * What the record predates is found by anchoring order, not by time: the blobs before the first
 * one the record names (all of them while it names none), and in that blob the lines before the
 * first it records. Not the lines after: a run that has appended a checkpoint and is about to
 * record it would be recorded twice.
 */
export async function checkpointsTheRecordPredates(
  store: Store,
  anchors: AnchorLog,
  recordedPerBlob: ReadonlyMap<string, number>,
  signed: (checkpoint: Checkpoint) => boolean | Promise<boolean>,
): Promise<AnchoredCheckpoint[]> {
  const names = await anchors.blobNames();
  const first = names.findIndex((name) => recordedPerBlob.has(name));
  const found: AnchoredCheckpoint[] = [];
  for (const blob of first === -1 ? names : names.slice(0, first)) {
    for (const checkpoint of await anchors.checkpointsIn(blob)) {
      if (await signed(checkpoint)) found.push({ blob, checkpoint });
    }
  }
  if (first === -1) return found;
  // The blob the record starts in: read only when it holds more lines than the record names.
  const startsIn = names[first]!;
  if ((await anchors.blockCount(startsIn)) <= recordedPerBlob.get(startsIn)!) return found;
  const recorded = new Set((await anchoredCheckpointsIn(store, startsIn)).map(checkpointIdentity));
  for (const checkpoint of await anchors.checkpointsIn(startsIn)) {
    if (recorded.has(checkpointIdentity(checkpoint))) break;
    if (await signed(checkpoint)) found.push({ blob: startsIn, checkpoint });
  }
  return found;
}

/** The last checkpoint recorded as anchored, or undefined before the first. */
export async function lastAnchoredCheckpoint(store: Store): Promise<AnchoredCheckpoint | undefined> {
  const query = store.db
    .selectFrom('anchored_checkpoint')
    .selectAll()
    .orderBy('time', 'desc')
    .orderBy('tree_size', 'desc');
  const [row] = await store.dialect.firstRows(query, 1).execute();
  return row === undefined ? undefined : fromRow(row);
}

/** Every checkpoint recorded as anchored, in the order anchored. */
export async function anchoredCheckpoints(store: Store): Promise<AnchoredCheckpoint[]> {
  const rows = await store.db
    .selectFrom(recordedLines(store).as('line'))
    .selectAll()
    .orderBy('time')
    .orderBy('tree_size')
    .execute();
  return rows.map(fromRow);
}

/** How many checkpoints the store records anchoring to each blob: what each blob holds at least. */
export async function anchoredCountsByBlob(store: Store): Promise<Map<string, number>> {
  const rows = await store.db
    .selectFrom(recordedLines(store).as('line'))
    .select((eb) => ['blob', eb.fn.countAll<number | string>().as('checkpoints')])
    .groupBy('blob')
    .execute();
  // Counts reach JavaScript as strings on some drivers.
  return new Map(rows.map((row) => [row.blob, Number(row.checkpoints)]));
}

/** Every checkpoint recorded as anchored to this blob, in the order anchored. */
export async function anchoredCheckpointsIn(store: Store, blob: string): Promise<Checkpoint[]> {
  const rows = await store.db
    .selectFrom(recordedLines(store).as('line'))
    .selectAll()
    .where('blob', '=', blob)
    .orderBy('time')
    .orderBy('tree_size')
    .execute();
  return rows.map((row) => fromRow(row).checkpoint);
}

/**
 * Of these key ids, the ones the store records a checkpoint anchored under: the versions of the
 * signing key this log has signed with. Key Vault answers a version that never was as it answers
 * one disabled since (404), so only this tells a gone version from a made-up one.
 */
export async function recordedKeyIds(store: Store, keyIds: Iterable<string>): Promise<Set<string>> {
  const asked = [...new Set(keyIds)];
  if (asked.length === 0) return new Set();
  const rows = await store.db
    .selectFrom('anchored_checkpoint')
    .select('key_id')
    .distinct()
    .where('key_id', 'in', asked)
    .execute();
  return new Set(rows.map((row) => row.key_id));
}

/** One line's identity: every field, so that a line is the same checkpoint only if it is the same line. */
export function checkpointIdentity(checkpoint: Checkpoint): string {
  return [checkpoint.treeSize, checkpoint.rootHash, checkpoint.time, checkpoint.keyId, checkpoint.signature].join(' ');
}

/** The lines recorded, each once however often it was recorded, with its blob: every column. */
function recordedLines(store: Store) {
  return store.db.selectFrom('anchored_checkpoint').selectAll().distinct();
}

function fromRow(row: Selectable<AnchoredCheckpointTable>): AnchoredCheckpoint {
  return {
    blob: row.blob,
    checkpoint: {
      // bigint columns reach JavaScript as strings on SQL Server.
      treeSize: Number(row.tree_size),
      rootHash: row.root_hash,
      time: row.time,
      keyId: row.key_id,
      signature: row.signature,
    },
  };
}
