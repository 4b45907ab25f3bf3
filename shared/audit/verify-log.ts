import type { KeyObject } from 'node:crypto';
import { storedRowBytes } from './access-log-rows.js';
import { anchoredCheckpoints, checkpointIdentity, type AnchoredCheckpoint } from './anchored-checkpoints.js';
import { verifyCheckpointSignature, type Checkpoint } from './checkpoint.js';
import type { DamagedAnchorLine } from './anchor-log.js';
import { LeafHasher, type HashedPage, type LeafPage } from './leaf-hasher.js';
import {
  accessLogRowsBySeq,
  CANONICAL_PLAIN_ENTRY,
  rowsBesideTheSequence,
  storedLeafPages,
  type StoredLeaf,
} from './leaf-stream.js';
import { emptyRoot, HASH_LENGTH } from './merkle.js';
import { fillSubjectIdIndex, strayIndexRows } from './subject-id-fill.js';
import { accessLogShadowed, type Store } from '../store/database.js';

export type LogProblemKind =
  /** A row's content no longer hashes to its recorded leaf hash. */
  | 'entry-altered'
  /** A sequence number is missing: an entry was deleted. */
  | 'entry-missing'
  /** A row is out of order or repeated: entries were reordered or inserted. */
  | 'sequence-broken'
  /** A row cannot be read back into an entry at all (seq 0: a row with no sequence number). */
  | 'entry-unreadable'
  /**
   * Recomputed root differs from a signed checkpoint: something it covers was rewritten. Also
   * said of an unverifiable checkpoint the store records as anchored (anchored-checkpoints.ts):
   * the log had that root, whether or not the signature can be checked now.
   */
  | 'checkpoint-mismatch'
  /**
   * The log holds fewer entries than a checkpoint covered (a signed one, or an unverifiable one
   * the store records as anchored): entries were removed from the end.
   */
  | 'log-truncated'
  /** A checkpoint's signature does not verify, or its key is unknown. */
  | 'checkpoint-signature'
  /**
   * Checkpoints under a version of the signing key that is gone (deleted or disabled, as a
   * rotation may leave the old ones) and that the store records this log anchoring under (a
   * version never made is answered as gone too, and its lines are checkpoint-signature): nothing
   * can check them, which does not make them forged.
   * One problem a version, at its first checkpoint, with `keyId` and how many `checkpoints`.
   * Those the store records as anchored are still held to the log's root (checkpoint-mismatch,
   * log-truncated).
   */
  | 'checkpoint-unverifiable'
  /** A checkpoint covers fewer entries than the one before it. */
  | 'checkpoint-regressed'
  /**
   * A valid line that repeats an earlier checkpoint word for word (size, root, time, key version
   * and signature): appended again by someone who may write to the anchor container, as its
   * policy allows. It says nothing the first did not, so it is no regression and fails nothing
   * ({@link faultsOf}), but it is named: the container was written to by someone.
   */
  | 'anchor-line-duplicate'
  /**
   * SQLite: a table or view named access_log (or access_log_subject_id, its subjects' index) in
   * the store file hides the log's own file from every reader (database.ts, accessLogShadowed);
   * nothing else is checked.
   */
  | 'log-hidden'
  /**
   * A row of the index of the people entries about several name (access_log_subject_id) that its
   * entry's subject does not name, or under a seq no entry has yet: it files the entry under
   * someone it was not about, and a subject access request would list it as theirs. `seq` is the
   * row's.
   */
  | 'subject-index-stray'
  /**
   * A line of the anchor log is not a valid checkpoint: the checkpoint it held is lost, and
   * the entries it alone covered are no longer signed. `seq` is the first entry after the
   * valid checkpoint before it.
   */
  | 'anchor-line-damaged'
  /**
   * Checkpoints the store records as anchored (anchored-checkpoints.ts) are no longer in their
   * anchor blob: the blob was deleted, or written again without them. One problem a blob; `seq`
   * is the first entry after the recorded checkpoint before the first one missing.
   */
  | 'anchor-missing';

export interface LogProblem {
  kind: LogProblemKind;
  /** The first sequence number the problem affects. */
  seq: number;
  /** For checkpoint problems: the checkpoint's position among the anchor log's valid ones (0-based). */
  checkpoint?: number;
  /** For unverifiable checkpoints: the key id they name, and how many there are. */
  keyId?: string;
  checkpoints?: number;
  /** For a damaged anchor line: where it is; for missing checkpoints: their blob, and how many. */
  anchor?: { blob: string; line: number; reason: string } | { blob: string; checkpoints: number };
}

export interface VerificationReport {
  /** No problem found but lines repeating a checkpoint already read (anchor-line-duplicate). */
  ok: boolean;
  entries: number;
  checkpoints: number;
  rootHash: string;
  /** The first sequence number that cannot be trusted, or null when the log is intact. */
  firstBadSeq: number | null;
  /**
   * Entries covered by the last checkpoint whose root matched. The entries after it are
   * chained but not yet signed: a rewrite of them together with their hashes shows only once
   * a checkpoint covers them (the checkpointer recomputes them before it signs).
   */
  signedEntries: number;
  /**
   * Rows of the index of the people entries about several name (access_log_subject_id) that this
   * verification found missing and wrote (subject-id-fill.ts): derived data beside the chain, so
   * not a problem, but a subject access request answered before it missed those entries.
   */
  subjectIndexFilled: number;
  problems: LogProblem[];
}

const MAX_PROBLEMS = 100;

/** The problems that make a log fail to verify: all but lines repeating a checkpoint already read. */
export function faultsOf(problems: readonly LogProblem[]): LogProblem[] {
  return problems.filter((p) => p.kind !== 'anchor-line-duplicate');
}

/**
 * Whether all that stands in the way of the report is checkpoints under signing key versions that
 * are gone (checkpoint-unverifiable): nothing found altered, which is not a sign of tampering.
 */
export function onlyUnverifiable(report: VerificationReport): boolean {
  return !report.ok && faultsOf(report.problems).every((p) => p.kind === 'checkpoint-unverifiable');
}

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
  damagedAnchorLines: readonly DamagedAnchorLine[] = [],
  /**
   * Key ids naming a version of the signing key that the secret store answers as gone
   * (signing-keys.ts, logKeysFor); unverifiable only where the store records anchoring under them.
   */
  goneKeyIds: ReadonlySet<string> = new Set(),
): Promise<VerificationReport> {
  const problems: LogProblem[] = [];
  const report = (p: LogProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else if (p.kind !== 'anchor-line-duplicate') {
      // A fault takes the place of a line repeated word for word, which fails nothing: a hundred
      // of them, appended by anyone who may write to the anchors, left no place for an altered
      // entry, and the log verified OK (found by a defect hunt).
      const duplicate = problems.findLastIndex((q) => q.kind === 'anchor-line-duplicate');
      if (duplicate !== -1) {
        problems.splice(duplicate, 1);
        problems.push(p);
      }
    }
  };
  for (const { blob, line, reason, after } of damagedAnchorLines) {
    report({
      kind: 'anchor-line-damaged',
      seq: (checkpoints[after - 1]?.treeSize ?? 0) + 1,
      checkpoint: after,
      anchor: { blob, line, reason },
    });
  }
  if (await accessLogShadowed(store)) {
    // (What the store records of the anchors is not read beside a planted table either.)
    return {
      ok: false,
      entries: 0,
      checkpoints: checkpoints.length,
      rootHash: emptyRoot().toString('hex'),
      firstBadSeq: 1,
      signedEntries: 0,
      subjectIndexFilled: 0,
      problems: [{ kind: 'log-hidden', seq: 1 }],
    };
  }

  const recorded = await anchoredCheckpoints(store);
  for (const missing of missingAnchoredCheckpoints(recorded, checkpoints)) report(missing);
  const recordedIdentities = new Set(recorded.map(({ checkpoint }) => checkpointIdentity(checkpoint)));
  // A version is gone only if this log signed with it: Key Vault answers 404 for a version that
  // never was as for one disabled since, and a line under a made-up version of the key id's form
  // was reported unverifiable, where it is forged (found by a defect hunt). The store's record of
  // what it anchored names every version the log signed with since migration 0032, and those it
  // signed with before that a checkpointer run found still readable (checkpointsTheRecordPredates).
  const recordedKeyIds = new Set(recorded.map(({ checkpoint }) => checkpoint.keyId));

  // Checkpoints in the order they were anchored; each must be signed and not shrink.
  const trusted: { index: number; cp: Checkpoint }[] = [];
  const trustedIdentities = new Set<string>();
  // Under a version that is gone, but recorded by the store as anchored and still so in the
  // anchors: the log had these roots, and a log that no longer leads to them was rewritten,
  // though nothing checks their signatures (found by a review). A line the record does not hold
  // is anyone's, and its root no evidence of anything.
  const recordedUnverifiable: { index: number; cp: Checkpoint }[] = [];
  const unverifiable = new Map<string, LogProblem & { checkpoints: number }>();
  checkpoints.forEach((cp, index) => {
    const key = publicKeys.get(cp.keyId);
    if (!key && goneKeyIds.has(cp.keyId) && recordedKeyIds.has(cp.keyId)) {
      if (recordedIdentities.has(checkpointIdentity(cp))) recordedUnverifiable.push({ index, cp });
      const known = unverifiable.get(cp.keyId);
      if (known) known.checkpoints++;
      else {
        const problem = {
          kind: 'checkpoint-unverifiable' as const,
          seq: cp.treeSize,
          checkpoint: index,
          keyId: cp.keyId,
          checkpoints: 1,
        };
        unverifiable.set(cp.keyId, problem);
        report(problem);
      }
      return;
    }
    if (!key || !verifyCheckpointSignature(cp, key)) {
      report({ kind: 'checkpoint-signature', seq: cp.treeSize, checkpoint: index });
      return;
    }
    // The same checkpoint again, not a smaller one signed later: the log is held to it once.
    if (trustedIdentities.has(checkpointIdentity(cp))) {
      report({ kind: 'anchor-line-duplicate', seq: cp.treeSize, checkpoint: index });
      return;
    }
    const previous = trusted[trusted.length - 1];
    if (previous && cp.treeSize < previous.cp.treeSize) {
      report({ kind: 'checkpoint-regressed', seq: cp.treeSize + 1, checkpoint: index });
      return;
    }
    trusted.push({ index, cp });
    trustedIdentities.add(checkpointIdentity(cp));
  });
  // Every root the log is held to, by size (the walk meets them in that order); the unverifiable
  // ones bound where a change is, but count in no signed entries.
  const heldToRoot = [
    ...trusted.map((t) => ({ ...t, verifiable: true })),
    ...recordedUnverifiable.map((t) => ({ ...t, verifiable: false })),
  ].sort((a, b) => a.cp.treeSize - b.cp.treeSize || a.index - b.index);

  // The worker recomputes leaves and the tree; this thread reads, packs, and judges the
  // answers page by page in sequence order, so problems come out as a single pass finds them.
  const hasher = new LeafHasher();
  let entries = 0;
  let rootHash = emptyRoot().toString('hex');
  let expected = 1;
  let next = 0;
  let lastMatchedSize = 0;
  let rootsAgreeTo = 0;
  // Entries that do not read back as written (whatever the cap on problems), or whose seq more
  // than one row holds: their subject may not be the one logged, so the index is not filled from it.
  const atFault = new Set<number>();
  const checkDue = (rootAt: (size: number) => string | undefined) => {
    while (next < heldToRoot.length && heldToRoot[next]!.cp.treeSize === entries) {
      const { cp, index, verifiable } = heldToRoot[next]!;
      if (rootAt(entries) === cp.rootHash) {
        rootsAgreeTo = cp.treeSize;
        if (verifiable) lastMatchedSize = cp.treeSize;
      } else report({ kind: 'checkpoint-mismatch', seq: rootsAgreeTo + 1, checkpoint: index });
      next++;
    }
  };
  checkDue(() => rootHash);

  const judge = ({ seqs, unreadable, storedUnusable, retyped, rootSizes }: PackedPage, hashed: HashedPage) => {
    const roots = new Map(rootSizes.map((size, k) => [size, hashed.roots[k]]));
    let a = 0;
    for (let i = 0; i < seqs.length; i++) {
      const seq = seqs[i]!;
      if (seq !== expected) {
        report({ kind: seq > expected ? 'entry-missing' : 'sequence-broken', seq: Math.min(seq, expected) });
        expected = seq;
      }
      if (unreadable.has(i)) {
        report({ kind: 'entry-unreadable', seq });
        atFault.add(seq);
      }
      const mismatched = hashed.altered[a] === i;
      if (mismatched) a++;
      if (mismatched || storedUnusable.has(i) || retyped.has(i)) {
        report({ kind: 'entry-altered', seq });
        atFault.add(seq);
      }
      entries++;
      expected++;
      checkDue((size) => roots.get(size));
    }
    rootHash = hashed.root;
  };

  // Two pages with the worker keep both threads busy; more would only hold memory.
  const inFlight: { packed: PackedPage; hashed: Promise<HashedPage> }[] = [];
  let sent = 0;
  let nextRoot = next;
  try {
    for await (const page of storedLeafPages(store)) {
      const rootSizes: number[] = [];
      for (; nextRoot < heldToRoot.length && heldToRoot[nextRoot]!.cp.treeSize <= sent + page.length; nextRoot++) {
        const size = heldToRoot[nextRoot]!.cp.treeSize;
        if (size > sent && rootSizes[rootSizes.length - 1] !== size) rootSizes.push(size);
      }
      const { packed, leafPage } = await packPage(store, page, rootSizes, sent);
      inFlight.push({ packed, hashed: hasher.hash(leafPage) });
      sent += page.length;
      if (inFlight.length >= 2) {
        const { packed: done, hashed } = inFlight.shift()!;
        judge(done, await hashed);
      }
    }
    for (const { packed, hashed } of inFlight.splice(0)) judge(packed, await hashed);
  } finally {
    await hasher.close();
  }

  for (; next < heldToRoot.length; next++) {
    report({ kind: 'log-truncated', seq: entries + 1, checkpoint: heldToRoot[next]!.index });
  }
  // Rows the walk in sequence order cannot reach, possible only where the log's table lost its
  // primary key (SQLite, rebuilt by hand): a second row under a seq already read, past a page's
  // end, and a row without a seq. Readers that go by time or subject would still find them.
  const beside = await rowsBesideTheSequence(store, MAX_PROBLEMS);
  for (const seq of beside.repeatedSeqs) {
    // Within one page the walk has already met the second row and said so.
    if (!problems.some((p) => p.kind === 'sequence-broken' && p.seq === seq)) report({ kind: 'sequence-broken', seq });
    // Which of the rows under it was logged is not known.
    atFault.add(seq);
  }
  if (beside.withoutSeq > 0) report({ kind: 'entry-unreadable', seq: 0 });
  for (const seq of await strayIndexRows(store.db, store.dialect, MAX_PROBLEMS))
    report({ kind: 'subject-index-stray', seq });

  // An instance still running the code before migration 0050 appends entries about several people
  // without their rows of the index, and their later-named people's requests miss those entries.
  // Not from an entry found altered: rows filled from a subject rewritten there would stay once it
  // is put back (the table is append-only) and file the entry under people it was never about.
  const subjectIndexFilled = await fillSubjectIdIndex(store.db, store.dialect, {
    table: 'access_log_subject_id',
    passOver: atFault,
  });

  // An entry-level finding names the row itself; checkpoint findings only bound where the
  // change is, so they decide the answer only when no row is found at fault.
  const faults = faultsOf(problems);
  const entryLevel = faults.filter((p) => p.checkpoint === undefined && p.kind !== 'anchor-missing');
  const decisive = entryLevel.length > 0 ? entryLevel : faults;
  const firstBadSeq = decisive.length === 0 ? null : Math.min(...decisive.map((p) => p.seq));
  return {
    ok: faults.length === 0,
    entries,
    checkpoints: checkpoints.length,
    rootHash,
    firstBadSeq,
    signedEntries: lastMatchedSize,
    subjectIndexFilled,
    problems,
  };
}

/**
 * The checkpoints the store records as anchored that the anchor log no longer holds, one problem
 * for each blob they were anchored to, in the order anchored.
 */
function missingAnchoredCheckpoints(
  recorded: readonly AnchoredCheckpoint[],
  anchored: readonly Checkpoint[],
): LogProblem[] {
  const held = new Set(anchored.map(checkpointIdentity));
  const byBlob = new Map<string, LogProblem & { anchor: { blob: string; checkpoints: number } }>();
  let coveredBefore = 0;
  for (const { blob, checkpoint } of recorded) {
    if (!held.has(checkpointIdentity(checkpoint))) {
      const known = byBlob.get(blob);
      if (known) known.anchor.checkpoints++;
      else byBlob.set(blob, { kind: 'anchor-missing', seq: coveredBefore + 1, anchor: { blob, checkpoints: 1 } });
    }
    coveredBefore = checkpoint.treeSize;
  }
  return [...byBlob.values()];
}

/** What the judging of a page needs beside the worker's answer. */
interface PackedPage {
  seqs: number[];
  /** Indices of the rows that could not be read back into an entry. */
  unreadable: Set<number>;
  /** Indices of the rows whose stored leaf hash is not a hash at all. */
  storedUnusable: Set<number>;
  /**
   * Indices of the rows that hash alike but are not stored as written, so queries read them
   * otherwise: on SQLite a column stored as another type (text made a blob of the same bytes no
   * longer equals the text any query asks for), and a list column holding other JSON for the
   * same list (access-log-rows.ts, listColumnsAsWritten).
   */
  retyped: Set<number>;
  /** The tree sizes within this page whose root a checkpoint needs, ascending. */
  rootSizes: number[];
}

/**
 * One page as the worker takes it: each row's canonical bytes and stored hash, packed into
 * buffers of the page's own that are handed over, not copied.
 *
 * A row whose assembled text matched CANONICAL_PLAIN_ENTRY is its canonical bytes as it stands:
 * the text is printable ASCII, so each character is one byte. Rows whose assembled text is not
 * certainly canonical are re-read whole and encoded by the codec, exactly as every row once
 * was; in an untouched log of ASCII ids there are none.
 */
async function packPage(
  store: Store,
  page: readonly StoredLeaf[],
  rootSizes: number[],
  sentBefore: number,
): Promise<{ packed: PackedPage; leafPage: LeafPage }> {
  const n = page.length;
  const seqs = new Array<number>(n);
  const encoded = new Array<Buffer | null | undefined>(n);
  const slow: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const { seq, assembled } = page[i]!;
    seqs[i] = Number(seq);
    if (assembled !== null && CANONICAL_PLAIN_ENTRY.test(assembled)) bytes += 1 + assembled.length;
    else slow.push(seqs[i]!);
  }
  const unreadable = new Set<number>();
  const retyped = new Set<number>();
  if (slow.length > 0) {
    const rows = await accessLogRowsBySeq(store, slow);
    for (let i = 0; i < n; i++) {
      const assembled = page[i]!.assembled;
      if (assembled !== null && CANONICAL_PLAIN_ENTRY.test(assembled)) continue;
      const row = rows.get(seqs[i]!);
      try {
        // Gone between the two reads: nothing a verifier can vouch for.
        if (!row) throw new Error('entry vanished during verification');
        const { bytes: entry, asWritten } = storedRowBytes(row);
        if (!asWritten) retyped.add(i);
        encoded[i] = entry;
        bytes += 1 + entry.length;
      } catch {
        encoded[i] = null;
        unreadable.add(i);
      }
    }
  }

  // Zero-filled, so every leaf input already starts with the 0x00 leaf prefix.
  const leafInputs = Buffer.from(new ArrayBuffer(bytes));
  const ends = new Uint32Array(n);
  const stored = Buffer.from(new ArrayBuffer(n * HASH_LENGTH));
  const standIn = new Uint8Array(n);
  const storedUnusable = new Set<number>();
  let end = 0;
  for (let i = 0; i < n; i++) {
    const { leaf_hex: hex, assembled, typed } = page[i]!;
    if (typed === 0) retyped.add(i);
    if (hex === null || hex.length !== 2 * HASH_LENGTH || stored.write(hex, i * HASH_LENGTH, 'hex') !== HASH_LENGTH) {
      // Its hash cannot match whatever the row holds; as a stand-in, zeros keep the tree's size.
      stored.fill(0, i * HASH_LENGTH, (i + 1) * HASH_LENGTH);
      storedUnusable.add(i);
    }
    const entry = encoded[i];
    if (entry === undefined) {
      end += 1 + leafInputs.write(assembled!, end + 1, 'latin1');
    } else if (entry === null) {
      // The stored hash stands in, so that checkpoints judge the rest of the log; the row
      // itself is already named.
      standIn[i] = 1;
    } else {
      leafInputs.set(entry, end + 1);
      end += 1 + entry.length;
    }
    ends[i] = end;
  }
  return {
    packed: { seqs, unreadable, storedUnusable, retyped, rootSizes },
    leafPage: { leafInputs, ends, stored, standIn, rootsAfter: rootSizes.map((size) => size - sentBefore - 1) },
  };
}
