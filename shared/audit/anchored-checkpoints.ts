import type { Selectable } from 'kysely';
import type { Store } from '../store/database.js';
import type { AnchoredCheckpointTable } from '../store/schema.js';
import type { Checkpoint } from './checkpoint.js';

/**
 * The store's own record of the checkpoints the checkpointer anchored (migration 0032), and the
 * blob each went to. The anchor container is WORM only once its immutability policy is locked;
 * before that, and locally, a blob can be deleted, or deleted and written again shorter, and the
 * anchor log alone cannot tell that from a log never anchored (found by a defect hunt). Compared
 * with the anchors, the record says that a checkpoint is gone: the checkpointer raises the alarm
 * and verify names the blob. Written after the append, so it never names a checkpoint that was
 * not anchored; a record lost after its append (the process ended) only leaves that one unchecked.
 */
export interface AnchoredCheckpoint {
  blob: string;
  checkpoint: Checkpoint;
}

export async function recordAnchoredCheckpoint(store: Store, anchored: AnchoredCheckpoint): Promise<void> {
  const { blob, checkpoint } = anchored;
  await store.db
    .insertInto('anchored_checkpoint')
    .values({
      blob,
      tree_size: checkpoint.treeSize,
      root_hash: checkpoint.rootHash,
      time: checkpoint.time,
      key_id: checkpoint.keyId,
      signature: checkpoint.signature,
    })
    .execute();
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
    .selectFrom('anchored_checkpoint')
    .selectAll()
    .orderBy('time')
    .orderBy('tree_size')
    .execute();
  return rows.map(fromRow);
}

/** How many checkpoints the store records anchoring to each blob: what each blob holds at least. */
export async function anchoredCountsByBlob(store: Store): Promise<Map<string, number>> {
  const rows = await store.db
    .selectFrom('anchored_checkpoint')
    .select((eb) => ['blob', eb.fn.countAll<number | string>().as('checkpoints')])
    .groupBy('blob')
    .execute();
  // Counts reach JavaScript as strings on some drivers.
  return new Map(rows.map((row) => [row.blob, Number(row.checkpoints)]));
}

/** Every checkpoint recorded as anchored to this blob, in the order anchored. */
export async function anchoredCheckpointsIn(store: Store, blob: string): Promise<Checkpoint[]> {
  const rows = await store.db
    .selectFrom('anchored_checkpoint')
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
