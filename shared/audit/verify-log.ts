import type { KeyObject } from 'node:crypto';
import { fromRow } from './access-log.js';
import { verifyCheckpointSignature, type Checkpoint } from './checkpoint.js';
import { encodeEntryUnchecked } from './entry-codec.js';
import { accessLogRows } from './leaf-stream.js';
import { hashesEqual, leafHash, MerkleAccumulator } from './merkle.js';
import type { Store } from '../store/database.js';

export type LogProblemKind =
  /** A row's content no longer hashes to its recorded leaf hash. */
  | 'entry-altered'
  /** A sequence number is missing: an entry was deleted. */
  | 'entry-missing'
  /** A row is out of order or repeated: entries were reordered or inserted. */
  | 'sequence-broken'
  /** A row cannot be read back into an entry at all. */
  | 'entry-unreadable'
  /** Recomputed root differs from a signed checkpoint: something it covers was rewritten. */
  | 'checkpoint-mismatch'
  /** The log holds fewer entries than a checkpoint covered: entries were removed from the end. */
  | 'log-truncated'
  /** A checkpoint's signature does not verify, or its key is unknown. */
  | 'checkpoint-signature'
  /** A checkpoint covers fewer entries than the one before it. */
  | 'checkpoint-regressed';

export interface LogProblem {
  kind: LogProblemKind;
  /** The first sequence number the problem affects. */
  seq: number;
  /** For checkpoint problems: the checkpoint's position in the anchor log (0-based). */
  checkpoint?: number;
}

export interface VerificationReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  rootHash: string;
  /** The first sequence number that cannot be trusted, or null when the log is intact. */
  firstBadSeq: number | null;
  problems: LogProblem[];
}

const MAX_PROBLEMS = 100;

/**
 * Recompute the whole log from the store in one streaming pass: every row's leaf hash from its
 * columns, the sequence 1..N without gaps, and the tree root at every checkpoint's size
 * against the signed root. A consistent rewrite of rows and their stored hashes still fails at
 * the first checkpoint covering them; the seq named is then the first one after the last
 * checkpoint that still matches.
 */
export async function verifyAccessLog(
  store: Store,
  checkpoints: readonly Checkpoint[],
  publicKeys: ReadonlyMap<string, KeyObject>,
): Promise<VerificationReport> {
  const problems: LogProblem[] = [];
  const report = (p: LogProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };

  // Checkpoints in the order they were anchored; each must be signed and not shrink.
  const trusted: { index: number; cp: Checkpoint }[] = [];
  checkpoints.forEach((cp, index) => {
    const key = publicKeys.get(cp.keyId);
    if (!key || !verifyCheckpointSignature(cp, key)) {
      report({ kind: 'checkpoint-signature', seq: cp.treeSize, checkpoint: index });
      return;
    }
    const previous = trusted[trusted.length - 1];
    if (previous && cp.treeSize < previous.cp.treeSize) {
      report({ kind: 'checkpoint-regressed', seq: cp.treeSize + 1, checkpoint: index });
      return;
    }
    trusted.push({ index, cp });
  });

  const tree = new MerkleAccumulator();
  let expected = 1;
  let next = 0;
  let lastMatchedSize = 0;
  const checkDue = () => {
    while (next < trusted.length && trusted[next]!.cp.treeSize === tree.size) {
      const { cp, index } = trusted[next]!;
      if (tree.root().toString('hex') === cp.rootHash) lastMatchedSize = cp.treeSize;
      else report({ kind: 'checkpoint-mismatch', seq: lastMatchedSize + 1, checkpoint: index });
      next++;
    }
  };
  checkDue();

  for await (const row of accessLogRows(store)) {
    const seq = Number(row.seq);
    if (seq !== expected) {
      report({ kind: seq > expected ? 'entry-missing' : 'sequence-broken', seq: Math.min(seq, expected) });
      expected = seq;
    }
    let leaf: Buffer;
    try {
      leaf = leafHash(encodeEntryUnchecked(fromRow(row)));
    } catch {
      report({ kind: 'entry-unreadable', seq });
      leaf = Buffer.from(row.leaf_hash);
    }
    if (!hashesEqual(leaf, row.leaf_hash)) report({ kind: 'entry-altered', seq });
    tree.push(leaf);
    expected++;
    checkDue();
  }

  for (; next < trusted.length; next++) {
    report({ kind: 'log-truncated', seq: tree.size + 1, checkpoint: trusted[next]!.index });
  }

  // An entry-level finding names the row itself; checkpoint findings only bound where the
  // change is, so they decide the answer only when no row is found at fault.
  const entryLevel = problems.filter((p) => p.checkpoint === undefined);
  const decisive = entryLevel.length > 0 ? entryLevel : problems;
  const firstBadSeq = decisive.length === 0 ? null : Math.min(...decisive.map((p) => p.seq));
  return {
    ok: problems.length === 0,
    entries: tree.size,
    checkpoints: checkpoints.length,
    rootHash: tree.root().toString('hex'),
    firstBadSeq,
    problems,
  };
}
