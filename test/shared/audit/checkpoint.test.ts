import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  CheckpointLogError,
  checkCheckpointSequence,
  checkpointSignedMessage,
  formatCheckpointLine,
  parseCheckpointLog,
  signCheckpoint,
  verifyCheckpointSignature,
  type Checkpoint,
} from '../../../shared/audit/checkpoint.js';
import { consistencyProof, leafHash, rootFromLeafHashes } from '../../../shared/audit/merkle.js';

function ed25519Pem(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('ed25519', {
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

const logKey = ed25519Pem();
const otherKey = ed25519Pem();
const KEY_ID = 'log-2025-01';

/** A log of `n` synthetic entries, as leaf hashes. */
function leaves(n: number, tag = 'honest'): Buffer[] {
  return Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`${tag}-${i}`)));
}

function checkpointAt(log: Buffer[], size: number, minute: number, key = logKey.privateKey): Checkpoint {
  return signCheckpoint(
    {
      treeSize: size,
      rootHash: rootFromLeafHashes(log.slice(0, size)).toString('hex'),
      time: new Date(Date.UTC(2025, 0, 1, 9, minute)).toISOString(),
    },
    key,
    KEY_ID,
  );
}

const log = leaves(50);
const proofsFrom = (l: Buffer[]) => (from: number, to: number) => consistencyProof(from, to, l);
const trusted = new Map([[KEY_ID, logKey.publicKey]]);

describe('signing and verifying checkpoints', () => {
  it('verifies a checkpoint signed with the log key', () => {
    const cp = checkpointAt(log, 10, 0);
    expect(cp.keyId).toBe(KEY_ID);
    expect(verifyCheckpointSignature(cp, logKey.publicKey)).toBe(true);
  });

  it('signs the documented text message, so other tools can verify it', () => {
    const cp = checkpointAt(log, 10, 0);
    const message = checkpointSignedMessage(cp).toString('utf8');
    expect(message).toBe(`lintel access-log checkpoint v1\n${KEY_ID}\n10\n${cp.rootHash}\n2025-01-01T09:00:00.000Z\n`);
    expect(verify(null, Buffer.from(message), logKey.publicKey, Buffer.from(cp.signature, 'base64'))).toBe(true);
  });

  it('rejects a signature made with another key', () => {
    const forged = checkpointAt(log, 10, 0, otherKey.privateKey);
    expect(verifyCheckpointSignature(forged, logKey.publicKey)).toBe(false);
  });

  it.each<[string, (cp: Checkpoint) => Checkpoint]>([
    ['tree size', (cp) => ({ ...cp, treeSize: cp.treeSize + 1 })],
    ['root hash', (cp) => ({ ...cp, rootHash: rootFromLeafHashes(leaves(10, 'forged')).toString('hex') })],
    ['time', (cp) => ({ ...cp, time: '2024-12-31T09:00:00.000Z' })],
    ['key id', (cp) => ({ ...cp, keyId: 'log-2024-12' })],
  ])('rejects a checkpoint whose %s was edited after signing', (_field, edit) => {
    const cp = checkpointAt(log, 10, 0);
    expect(verifyCheckpointSignature(edit(cp), logKey.publicKey)).toBe(false);
  });

  it('rejects a tampered or malformed signature without throwing', () => {
    const cp = checkpointAt(log, 10, 0);
    const sig = Buffer.from(cp.signature, 'base64');
    sig[5] = (sig[5] as number) ^ 1;
    expect(verifyCheckpointSignature({ ...cp, signature: sig.toString('base64') }, logKey.publicKey)).toBe(false);
    expect(verifyCheckpointSignature({ ...cp, signature: 'AAAA' }, logKey.publicKey)).toBe(false);
    expect(verifyCheckpointSignature({ ...cp, signature: 'not base64!' }, logKey.publicKey)).toBe(false);
  });

  it('refuses keys that are not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const body = { treeSize: 0, rootHash: rootFromLeafHashes([]).toString('hex'), time: '2025-01-01T09:00:00.000Z' };
    expect(() => signCheckpoint(body, rsa.privateKey, KEY_ID)).toThrow(/Ed25519/);
    expect(() => verifyCheckpointSignature(checkpointAt(log, 1, 0), rsa.publicKey)).toThrow(/Ed25519/);
  });

  it('refuses to sign a malformed body', () => {
    const good = { treeSize: 1, rootHash: 'ab'.repeat(32), time: '2025-01-01T09:00:00.000Z' };
    expect(() => signCheckpoint({ ...good, rootHash: 'AB'.repeat(32) }, logKey.privateKey, KEY_ID)).toThrow();
    expect(() => signCheckpoint({ ...good, treeSize: -1 }, logKey.privateKey, KEY_ID)).toThrow();
    expect(() => signCheckpoint(good, logKey.privateKey, 'key with spaces')).toThrow();
    expect(() => signCheckpoint(good, logKey.privateKey, 'key\ninjected')).toThrow();
  });
});

describe('checkpoint log text', () => {
  it('round-trips checkpoints through one JSON line each', () => {
    const cps = [checkpointAt(log, 5, 0), checkpointAt(log, 20, 1)];
    const text = cps.map(formatCheckpointLine).join('');
    expect(text.split('\n')).toHaveLength(3); // two lines and the final newline
    expect(parseCheckpointLog(text)).toEqual(cps);
  });

  it('skips blank lines', () => {
    const line = formatCheckpointLine(checkpointAt(log, 5, 0));
    expect(parseCheckpointLog(`\n${line}\n\n${line}`)).toHaveLength(2);
  });

  it('names the line number of a damaged line and does not echo its content', () => {
    const good = formatCheckpointLine(checkpointAt(log, 5, 0));
    const text = `${good}${good}{"treeSize":5,"rootHash":"SECRET-LOOKING`;
    expect(() => parseCheckpointLog(text)).toThrow(CheckpointLogError);
    try {
      parseCheckpointLog(text);
    } catch (err) {
      expect((err as CheckpointLogError).lineNumber).toBe(3);
      expect((err as Error).message).toMatch(/line 3: not valid JSON/);
      expect((err as Error).message).not.toContain('SECRET');
    }
  });

  it('rejects a line that is JSON but not a checkpoint, naming the field', () => {
    const cp = checkpointAt(log, 5, 0);
    const bad = JSON.stringify({ ...cp, treeSize: '5' });
    expect(() => parseCheckpointLog(`${formatCheckpointLine(cp)}${bad}\n`)).toThrow(/line 2: .*treeSize/);
  });
});

describe('checkCheckpointSequence', () => {
  it('accepts checkpoints that each extend the one before', async () => {
    const cps = [
      checkpointAt(log, 0, 0),
      checkpointAt(log, 3, 1),
      checkpointAt(log, 3, 2),
      checkpointAt(log, 17, 3),
      checkpointAt(log, 50, 4),
    ];
    expect(await checkCheckpointSequence(cps, { consistencyProof: proofsFrom(log), publicKeys: trusted })).toEqual([]);
  });

  it('flags a checkpoint whose tree is smaller than an earlier one', async () => {
    const cps = [checkpointAt(log, 20, 0), checkpointAt(log, 10, 1), checkpointAt(log, 30, 2)];
    expect(await checkCheckpointSequence(cps, { consistencyProof: proofsFrom(log) })).toEqual([
      { index: 1, treeSize: 10, kind: 'tree-size-decreased', comparedWith: 0 },
    ]);
  });

  it('flags a checkpoint dated before an earlier one', async () => {
    const cps = [checkpointAt(log, 10, 5), checkpointAt(log, 20, 4)];
    expect(await checkCheckpointSequence(cps, { consistencyProof: proofsFrom(log) })).toEqual([
      { index: 1, treeSize: 20, kind: 'time-went-backwards', comparedWith: 0 },
    ]);
  });

  it('detects history rewritten after a checkpoint, even when re-signed with the real key', async () => {
    // Checkpoint 0 commits to the honest first 10 entries; the operator then rewrites
    // entry 4 and publishes a validly signed checkpoint over the rewritten log.
    const rewritten = [...log];
    rewritten[4] = leafHash(Buffer.from('rewritten'));
    const cps = [checkpointAt(log, 10, 0), checkpointAt(rewritten, 30, 1)];
    expect(
      await checkCheckpointSequence(cps, { consistencyProof: proofsFrom(rewritten), publicKeys: trusted }),
    ).toEqual([{ index: 1, treeSize: 30, kind: 'inconsistent-root', comparedWith: 0 }]);
  });

  it('flags two checkpoints of the same size with different roots', async () => {
    const other = leaves(10, 'fork');
    const cps = [checkpointAt(log, 10, 0), checkpointAt(other, 10, 1)];
    expect(await checkCheckpointSequence(cps, { consistencyProof: proofsFrom(log) })).toEqual([
      { index: 1, treeSize: 10, kind: 'inconsistent-root', comparedWith: 0 },
    ]);
  });

  it('flags a forged checkpoint once and keeps checking later ones against the last good one', async () => {
    const forged = { ...checkpointAt(log, 20, 1), rootHash: rootFromLeafHashes(leaves(20, 'forged')).toString('hex') };
    const cps = [checkpointAt(log, 10, 0), forged, checkpointAt(log, 30, 2)];
    expect(await checkCheckpointSequence(cps, { consistencyProof: proofsFrom(log), publicKeys: trusted })).toEqual([
      { index: 1, treeSize: 20, kind: 'bad-signature' },
    ]);
  });

  it('flags a checkpoint signed by a key that is not trusted', async () => {
    const cps = [checkpointAt(log, 10, 0), { ...checkpointAt(log, 20, 1), keyId: 'unknown' }];
    expect(await checkCheckpointSequence(cps, { consistencyProof: proofsFrom(log), publicKeys: trusted })).toEqual([
      { index: 1, treeSize: 20, kind: 'unknown-key' },
    ]);
  });

  it('reports a checkpoint the log can no longer prove, e.g. after entries were deleted', async () => {
    const truncated = log.slice(0, 25);
    const cps = [checkpointAt(log, 10, 0), checkpointAt(log, 40, 1)];
    expect(await checkCheckpointSequence(cps, { consistencyProof: proofsFrom(truncated) })).toEqual([
      { index: 1, treeSize: 40, kind: 'no-consistency-proof', comparedWith: 0 },
    ]);
  });

  it('accepts an asynchronous proof source, as an API client would be', async () => {
    const cps = [checkpointAt(log, 10, 0), checkpointAt(log, 30, 1)];
    const asyncProofs = async (from: number, to: number) => consistencyProof(from, to, log);
    expect(await checkCheckpointSequence(cps, { consistencyProof: asyncProofs })).toEqual([]);
  });
});
