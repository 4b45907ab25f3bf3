/**
 * Signed checkpoints of the access log: "at `time`, the log held `treeSize` entries
 * and their Merkle root was `rootHash`", signed with the log's Ed25519 key.
 *
 * Checkpoints are appended one JSON object per line to write-once (WORM) storage.
 * Once a checkpoint is out, the log operator cannot rewrite any of the first
 * `treeSize` entries without either producing a root that no longer matches, or
 * rewriting the checkpoint too - which the WORM container, the signature and the
 * consistency check between successive checkpoints (checkCheckpointSequence) expose.
 *
 * What is signed is not the JSON line but a fixed text message (see
 * checkpointSignedMessage), so a verifier in any language can rebuild it from the
 * four fields without a canonical-JSON library.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { HASH_LENGTH, verifyConsistency } from './merkle.js';

/** First line of every signed message: binds the signature to this purpose and version. */
export const CHECKPOINT_SIGNATURE_DOMAIN = 'lintel access-log checkpoint v1';

const ED25519_SIGNATURE_LENGTH = 64;

/** toISOString form (ms precision, "Z"), so string order is time order. */
const timestamp = z.iso.datetime({ precision: 3 });

/** The signed statement, without key id and signature. */
export const checkpointBodySchema = z.strictObject({
  /** Number of entries covered; entries seq 1..treeSize. */
  treeSize: z.int().nonnegative(),
  /** RFC 6962 root over those entries, lower-case hex. */
  rootHash: z.string().regex(new RegExp(`^[0-9a-f]{${HASH_LENGTH * 2}}$`), 'lower-case hex SHA-256'),
  time: timestamp,
});

export type CheckpointBody = z.infer<typeof checkpointBodySchema>;

export const checkpointSchema = checkpointBodySchema.extend({
  /** Which signing key: lets keys rotate while old checkpoints stay verifiable. */
  keyId: z
    .string()
    .min(1)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  /** Ed25519 signature over checkpointSignedMessage, standard base64. */
  signature: z.base64().refine((s) => Buffer.from(s, 'base64').length === ED25519_SIGNATURE_LENGTH, {
    message: 'Ed25519 signature is 64 bytes',
  }),
});

export type Checkpoint = z.infer<typeof checkpointSchema>;

/**
 * The exact bytes that are signed, UTF-8 (all ASCII here), each line ending in "\n":
 *
 *     lintel access-log checkpoint v1
 *     <keyId>
 *     <treeSize in decimal>
 *     <rootHash, 64 lower-case hex digits>
 *     <time, e.g. 2025-01-31T09:00:00.000Z>
 *
 * The domain line stops a signature made for something else being replayed as a
 * checkpoint; the key id is inside the signature so it cannot be swapped afterwards.
 * keyId can hold no whitespace, so no field can smuggle in an extra line.
 */
export function checkpointSignedMessage(body: CheckpointBody & { keyId: string }): Buffer {
  return Buffer.from(
    `${CHECKPOINT_SIGNATURE_DOMAIN}\n${body.keyId}\n${body.treeSize}\n${body.rootHash}\n${body.time}\n`,
    'utf8',
  );
}

function ed25519Key<T extends KeyObject>(key: T, role: 'private' | 'public'): T {
  if (key.asymmetricKeyType !== 'ed25519') {
    // A configuration error, not a verification result: fail loudly.
    throw new TypeError(`checkpoint ${role} key must be an Ed25519 key`);
  }
  return key;
}

/**
 * Signs a checkpoint body with the log's Ed25519 private key.
 * The body is validated first: a signature over a malformed checkpoint would be a
 * signed statement nobody can check.
 */
export function signCheckpoint(body: CheckpointBody, privateKey: string | KeyObject, keyId: string): Checkpoint {
  const key = ed25519Key(typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey, 'private');
  const unsigned = checkpointSchema
    .omit({ signature: true })
    .parse({ treeSize: body.treeSize, rootHash: body.rootHash, time: body.time, keyId });
  const signature = sign(null, checkpointSignedMessage(unsigned), key).toString('base64');
  return { ...unsigned, signature };
}

/**
 * True when the checkpoint's signature is valid for its fields under `publicKey`.
 * A malformed checkpoint or signature gives false (it comes from storage that may
 * have been tampered with); a key that is not Ed25519 throws (misconfiguration).
 */
export function verifyCheckpointSignature(cp: Checkpoint, publicKey: string | KeyObject): boolean {
  const key = ed25519Key(typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey, 'public');
  const parsed = checkpointSchema.safeParse(cp);
  if (!parsed.success) return false;
  try {
    return verify(null, checkpointSignedMessage(parsed.data), key, Buffer.from(parsed.data.signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * One line of the checkpoint log: JSON with a fixed key order and a trailing "\n",
 * ready to append to an append blob. The fixed order keeps the file diffable and
 * readable; verification does not depend on it.
 */
export function formatCheckpointLine(cp: Checkpoint): string {
  const c = checkpointSchema.parse(cp);
  return `${JSON.stringify({
    treeSize: c.treeSize,
    rootHash: c.rootHash,
    time: c.time,
    keyId: c.keyId,
    signature: c.signature,
  })}\n`;
}

/**
 * A checkpoint log that cannot be read; names the 1-based line (and, once known, the blob it is
 * in), never its content.
 */
export class CheckpointLogError extends Error {
  readonly lineNumber: number;
  readonly reason: string;
  /** The anchor blob holding the line, when the log spans several. */
  readonly blobName: string | undefined;
  constructor(lineNumber: number, reason: string, blobName?: string) {
    super(`checkpoint log ${blobName === undefined ? '' : `${blobName} `}line ${lineNumber}: ${reason}`);
    this.name = 'CheckpointLogError';
    this.lineNumber = lineNumber;
    this.reason = reason;
    this.blobName = blobName;
  }
}

/**
 * Parses a checkpoint log (one JSON checkpoint per line). Blank lines are skipped;
 * anything else that is not a valid checkpoint stops parsing with the line number,
 * because silently skipping a damaged line could hide exactly the checkpoint that
 * proves tampering. Signatures are not checked here (see verifyCheckpointSignature).
 */
export function parseCheckpointLog(text: string): Checkpoint[] {
  const { checkpoints, damaged } = readCheckpointLines(text);
  const first = damaged[0];
  if (first !== undefined) throw new CheckpointLogError(first.line, first.reason);
  return checkpoints;
}

/** A line of a checkpoint log that is not a valid checkpoint. */
export interface DamagedCheckpointLine {
  /** 1-based. */
  readonly line: number;
  readonly reason: string;
  /** How many valid checkpoints come before it in the same text. */
  readonly after: number;
}

/**
 * Every valid checkpoint of a checkpoint log, and every line that is not one, in order: for a
 * verifier, which must name each damaged line and still check the log against the rest. The
 * reasons name fields and checks only, never the line's content.
 */
export function readCheckpointLines(text: string): { checkpoints: Checkpoint[]; damaged: DamagedCheckpointLine[] } {
  const checkpoints: Checkpoint[] = [];
  const damaged: DamagedCheckpointLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      damaged.push({ line: i + 1, reason: 'not valid JSON', after: checkpoints.length });
      continue;
    }
    const result = checkpointSchema.safeParse(json);
    if (!result.success) {
      const where = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'} ${issue.code}`);
      damaged.push({ line: i + 1, reason: `not a valid checkpoint (${where.join(', ')})`, after: checkpoints.length });
      continue;
    }
    checkpoints.push(result.data);
  }
  return { checkpoints, damaged };
}

/** Why a checkpoint does not fit the sequence. */
export type CheckpointProblemKind =
  /** keyId not among the trusted public keys. */
  | 'unknown-key'
  /** Signature does not verify: forged or edited checkpoint. */
  | 'bad-signature'
  /** Smaller tree than an earlier checkpoint: entries were removed. */
  | 'tree-size-decreased'
  /** Earlier time than an earlier checkpoint: reordered or back-dated. */
  | 'time-went-backwards'
  /** The log could not supply a consistency proof (e.g. it now holds fewer entries). */
  | 'no-consistency-proof'
  /** The roots are not consistent: some entry covered by the earlier checkpoint changed. */
  | 'inconsistent-root';

export interface CheckpointProblem {
  /** 0-based position of the offending checkpoint in the list checked. */
  index: number;
  treeSize: number;
  kind: CheckpointProblemKind;
  /** Position of the earlier checkpoint it was compared with, for sequence problems. */
  comparedWith?: number;
}

export interface CheckpointSequenceOptions {
  /**
   * Consistency proof between two tree sizes of the log (merkle.consistencyProof, or
   * the API's proof endpoint). Throwing or rejecting is reported as
   * 'no-consistency-proof' for that checkpoint.
   */
  consistencyProof: (from: number, to: number) => readonly Uint8Array[] | Promise<readonly Uint8Array[]>;
  /** Trusted public keys by keyId. When given, every signature is checked too. */
  publicKeys?: ReadonlyMap<string, string | KeyObject>;
}

/**
 * Checks that each checkpoint extends the ones before it: signatures valid (if keys
 * are given), tree size and time never decreasing, and each root provably consistent
 * with the previous one (same size means same root).
 *
 * Each checkpoint is compared with the last checkpoint that passed, not simply the
 * previous line, so one rewritten checkpoint is flagged once instead of also
 * dragging its honest successor down with it. An empty result means the sequence is
 * sound. Problems carry indices and sizes only.
 *
 * Limits: this compares checkpoints with each other only. Whether the first trusted
 * checkpoint matches the stored entries is for a full recomputation
 * (MerkleAccumulator over the log); and if the very first checkpoint is the forged
 * one, the honest ones after it are the ones flagged - a reader must then look at
 * which side the signatures and the log agree with.
 */
export async function checkCheckpointSequence(
  checkpoints: readonly Checkpoint[],
  options: CheckpointSequenceOptions,
): Promise<CheckpointProblem[]> {
  const problems: CheckpointProblem[] = [];
  let lastGood: { index: number; cp: Checkpoint } | undefined;

  for (let index = 0; index < checkpoints.length; index++) {
    const cp = checkpoints[index] as Checkpoint;
    const report = (kind: CheckpointProblemKind, comparedWith?: number): void => {
      problems.push(
        comparedWith === undefined
          ? { index, treeSize: cp.treeSize, kind }
          : { index, treeSize: cp.treeSize, kind, comparedWith },
      );
    };

    if (options.publicKeys) {
      const key = options.publicKeys.get(cp.keyId);
      if (key === undefined) {
        report('unknown-key');
        continue;
      }
      if (!verifyCheckpointSignature(cp, key)) {
        report('bad-signature');
        continue;
      }
    }

    if (lastGood !== undefined) {
      const prev = lastGood.cp;
      if (cp.treeSize < prev.treeSize) {
        report('tree-size-decreased', lastGood.index);
        continue;
      }
      if (cp.time < prev.time) {
        // Both are toISOString form (schema), so string order is time order.
        report('time-went-backwards', lastGood.index);
        continue;
      }
      let proof: readonly Uint8Array[];
      try {
        proof = await options.consistencyProof(prev.treeSize, cp.treeSize);
      } catch {
        report('no-consistency-proof', lastGood.index);
        continue;
      }
      const consistent = verifyConsistency(
        prev.treeSize,
        cp.treeSize,
        Buffer.from(prev.rootHash, 'hex'),
        Buffer.from(cp.rootHash, 'hex'),
        proof,
      );
      if (!consistent) {
        report('inconsistent-root', lastGood.index);
        continue;
      }
    }
    lastGood = { index, cp };
  }
  return problems;
}
