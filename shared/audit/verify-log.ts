import { hash, type KeyObject } from 'node:crypto';
import { fromRow } from './access-log.js';
import { verifyCheckpointSignature, type Checkpoint } from './checkpoint.js';
import { encodeEntryUnchecked } from './entry-codec.js';
import { accessLogRowsBySeq, CANONICAL_PLAIN_ENTRY, storedLeafPages } from './leaf-stream.js';
import { leafHash, MerkleAccumulator } from './merkle.js';
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

  for await (const page of storedLeafPages(store)) {
    // Rows whose assembled text is not certainly canonical are re-read whole and encoded by the
    // codec, exactly as every row once was; in an untouched log of ASCII ids there are none.
    const plain = page.map((r) => r.assembled !== null && CANONICAL_PLAIN_ENTRY.test(r.assembled));
    const slow = page.filter((_, i) => !plain[i]).map((r) => Number(r.seq));
    const rows = slow.length > 0 ? await accessLogRowsBySeq(store, slow) : new Map<number, never>();
    for (let i = 0; i < page.length; i++) {
      const { seq: storedSeq, leaf_hash: stored, assembled } = page[i]!;
      const seq = Number(storedSeq);
      if (seq !== expected) {
        report({ kind: seq > expected ? 'entry-missing' : 'sequence-broken', seq: Math.min(seq, expected) });
        expected = seq;
      }
      let leaf: Buffer;
      try {
        if (plain[i]) {
          leaf = plainLeafHash(assembled!);
        } else {
          const row = rows.get(seq);
          // Gone between the two reads: nothing a verifier can vouch for.
          if (!row) throw new Error('entry vanished during verification');
          leaf = leafHash(encodeEntryUnchecked(fromRow(row)));
        }
      } catch {
        report({ kind: 'entry-unreadable', seq });
        leaf = Buffer.from(stored);
      }
      // Buffer.equals: these hashes are public, so there is no timing to hide and no need for timingSafeEqual's cost.
      if (!leaf.equals(stored)) report({ kind: 'entry-altered', seq });
      tree.push(leaf);
      expected++;
      checkDue();
    }
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

/**
 * leafHash (merkle.ts) of an assembled entry that matched CANONICAL_PLAIN_ENTRY, hashed straight
 * from the string: the text is printable ASCII, so its UTF-8 encoding, which crypto.hash applies
 * to a string, is the entry's canonical bytes one for one, and the 0x00 leaf prefix is a NUL
 * character. This skips a copy into a buffer and another out of it, per row. The verification
 * tests hold it to merkle.leafHash: a single byte of difference would fail every entry.
 */
function plainLeafHash(text: string): Buffer {
  return Buffer.from(hash('sha256', `\u0000${text}`, 'binary'), 'latin1');
}
