// Tests scripts/verify-proof.mjs, the partner-facing stand-alone verifier, by running
// it as a partner would (a separate node process) on proofs produced by merkle.ts.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { signCheckpoint } from '../../../shared/audit/checkpoint.js';
import { entryLeafHash, type AccessLogEntry } from '../../../shared/audit/entry-codec.js';
import { consistencyProof, inclusionProof, leafHash, rootFromLeafHashes } from '../../../shared/audit/merkle.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/verify-proof.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'verify-proof-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function run(kind: string, doc: unknown): { status: number | null; stdout: string } {
  const file = join(dir, `proof-${fileCounter++}.json`);
  writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
  const result = spawnSync(process.execPath, [SCRIPT, kind, file], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const flip = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1);

function entry(seq: number): AccessLogEntry {
  return {
    seq,
    time: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
    requestId: `req-${seq}`,
    partyId: 'rp-orbit',
    clientId: 'client-1',
    roles: ['Lettings.Officer'],
    purpose: 'allocation',
    action: 'lookup',
    subjectRef: seq % 3 === 0 ? null : `psn:${seq}`,
    datasets: ['housing-register'],
    fields: ['band', 'bedroomNeed'],
    decision: seq % 5 === 0 ? 'deny' : 'permit',
    reasonCode: 'granted',
  };
}

const entries = Array.from({ length: 21 }, (_, i) => entry(i + 1));
const leaves = entries.map(entryLeafHash);

function inclusionDoc(seq: number, treeSize: number) {
  const tree = leaves.slice(0, treeSize);
  return {
    seq,
    treeSize,
    leafHash: hex(leaves[seq - 1] as Buffer),
    proof: inclusionProof(seq - 1, tree).map(hex),
    rootHash: hex(rootFromLeafHashes(tree)),
  };
}

function consistencyDoc(from: number, to: number) {
  return {
    from,
    to,
    fromRoot: hex(rootFromLeafHashes(leaves.slice(0, from))),
    toRoot: hex(rootFromLeafHashes(leaves.slice(0, to))),
    proof: consistencyProof(from, to, leaves).map(hex),
  };
}

describe('verify-proof.mjs inclusion', () => {
  it.each([
    [1, 1],
    [1, 21],
    [13, 21],
    [21, 21],
    [8, 16],
  ])('accepts a valid proof for seq %i in a tree of %i', (seq, size) => {
    const { status, stdout } = run('inclusion', inclusionDoc(seq, size));
    expect(stdout).toMatch(new RegExp(`^OK inclusion: entry seq ${seq} is included in the tree of size ${size}`));
    expect(status).toBe(0);
  });

  it.each<[string, (d: ReturnType<typeof inclusionDoc>) => unknown]>([
    ['a tampered proof hash', (d) => ({ ...d, proof: [flip(d.proof[0] as string), ...d.proof.slice(1)] })],
    ['a different leaf', (d) => ({ ...d, leafHash: hex(leafHash(Buffer.from('forged'))) })],
    ['a different root', (d) => ({ ...d, rootHash: flip(d.rootHash) })],
    ['the wrong sequence number', (d) => ({ ...d, seq: d.seq + 1 })],
    ['a dropped proof hash', (d) => ({ ...d, proof: d.proof.slice(1) })],
    ['a non-hex proof element', (d) => ({ ...d, proof: ['zz', ...d.proof.slice(1)] })],
    ['a missing field', (d) => ({ ...d, treeSize: undefined })],
  ])('rejects %s', (_label, tamper) => {
    const { status, stdout } = run('inclusion', tamper(inclusionDoc(6, 21)));
    expect(stdout).toMatch(/^FAILED inclusion: /);
    expect(status).toBe(1);
  });

  it('recomputes the leaf hash from an attached entry with the same canonical encoding', () => {
    const ok = run('inclusion', { ...inclusionDoc(9, 21), entry: entries[8] });
    expect(ok.stdout).toMatch(/^OK inclusion: entry seq 9 \(entry content checked\)/);
    expect(ok.status).toBe(0);

    // Keys in another order: still the same canonical bytes.
    const shuffled = Object.fromEntries(Object.entries(entries[8] as AccessLogEntry).reverse());
    expect(run('inclusion', { ...inclusionDoc(9, 21), entry: shuffled }).status).toBe(0);

    const altered = { ...(entries[8] as AccessLogEntry), fields: ['band', 'bedroomNeed', 'income'] };
    const bad = run('inclusion', { ...inclusionDoc(9, 21), entry: altered });
    expect(bad.stdout).toMatch(/^FAILED inclusion: entry does not hash to leafHash/);
    expect(bad.status).toBe(1);
  });

  // The API answers `entry: null` to a DPO the entry is no business of; such a proof was refused
  // whole, its leaf hash unchecked, as malformed.
  it('checks the proof of a leaf hash alone when the entry is null, as the API gives it', () => {
    const result = run('inclusion', { ...inclusionDoc(9, 21), entry: null });
    expect(result.stdout).toMatch(/^OK inclusion: entry seq 9 is included in the tree of size 21 /);
    expect(result.status).toBe(0);
  });
});

describe('verify-proof.mjs consistency', () => {
  it.each([
    [1, 21],
    [4, 21],
    [7, 13],
    [21, 21],
    [0, 5],
  ])('accepts a valid proof from %i to %i', (from, to) => {
    const { status, stdout } = run('consistency', consistencyDoc(from, to));
    expect(stdout).toMatch(new RegExp(`^OK consistency: tree of size ${to} .* extends tree of size ${from} `));
    expect(status).toBe(0);
  });

  it.each<[string, (d: ReturnType<typeof consistencyDoc>) => unknown]>([
    ['an altered old root', (d) => ({ ...d, fromRoot: flip(d.fromRoot) })],
    ['an altered new root', (d) => ({ ...d, toRoot: flip(d.toRoot) })],
    [
      'a tampered proof hash',
      (d) => ({ ...d, proof: d.proof.map((p, i) => (i === d.proof.length - 1 ? flip(p) : p)) }),
    ],
    ['an empty proof', (d) => ({ ...d, proof: [] })],
    ['swapped sizes', (d) => ({ ...d, from: d.to, to: d.from })],
  ])('rejects %s', (_label, tamper) => {
    const { status, stdout } = run('consistency', tamper(consistencyDoc(7, 13)));
    expect(stdout).toMatch(/^FAILED consistency: /);
    expect(status).toBe(1);
  });

  it('rejects a rewritten history: the new root does not extend the old one', () => {
    const rewritten = [...leaves];
    rewritten[2] = leafHash(Buffer.from('rewritten'));
    const doc = {
      from: 7,
      to: 13,
      fromRoot: hex(rootFromLeafHashes(leaves.slice(0, 7))),
      toRoot: hex(rootFromLeafHashes(rewritten.slice(0, 13))),
      proof: consistencyProof(7, 13, rewritten).map(hex),
    };
    expect(run('consistency', doc).status).toBe(1);
  });
});

describe('verify-proof.mjs usage', () => {
  it('fails cleanly on a file that is not JSON', () => {
    const { status, stdout } = run('inclusion', '{ not json');
    expect(stdout).toBe('FAILED inclusion: proof file is not valid JSON\n');
    expect(status).toBe(1);
  });

  // README: "save a response body as proof.json". Saved on Windows it often begins with a
  // byte-order mark (Notepad, PowerShell 5.1's Out-File -Encoding utf8), or is UTF-16 (its
  // Out-File and `>`): each was "FAILED inclusion: proof file is not valid JSON".
  it('reads a proof saved as UTF-8 with a byte-order mark, or as UTF-16 with one', () => {
    const text = JSON.stringify({ ...inclusionDoc(9, 21), entry: entries[8] });
    const utf16be = Buffer.from(`\ufeff${text}`, 'utf16le').swap16();
    for (const [label, bytes] of [
      ['UTF-8 with a byte-order mark', Buffer.from(`\ufeff${text}`, 'utf8')],
      ['UTF-16LE', Buffer.from(`\ufeff${text}`, 'utf16le')],
      ['UTF-16BE', utf16be],
    ] as const) {
      const file = join(dir, `proof-${fileCounter++}.json`);
      writeFileSync(file, bytes);
      const result = spawnSync(process.execPath, [SCRIPT, 'inclusion', file], { encoding: 'utf8' });
      expect(result.stdout, label).toMatch(/^OK inclusion: entry seq 9 \(entry content checked\) is included /);
      expect(result.status, label).toBe(0);
    }
  });

  // The entry is hashed by a recursive walk: one nesting arrays some hundred thousand deep ended the
  // script in a RangeError's stack trace, with no FAILED line for the DPO to read.
  it('fails an entry nested deeper than any access-log entry with a FAILED line, not a stack trace', () => {
    const depth = 200_000;
    const doc = JSON.stringify({ ...inclusionDoc(9, 21), entry: { seq: 9 } }).replace(
      '"entry":{"seq":9}',
      `"entry":{"seq":9,"fields":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    );
    const file = join(dir, `proof-${fileCounter++}.json`);
    writeFileSync(file, doc);
    const result = spawnSync(process.execPath, [SCRIPT, 'inclusion', file], { encoding: 'utf8' });
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 1,
      stdout: 'FAILED inclusion: entry nests deeper than any access-log entry\n',
      stderr: '',
    });
  });

  it('exits 2 with usage help for an unknown command', () => {
    const result = spawnSync(process.execPath, [SCRIPT, 'audit', 'x.json'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/usage/);
  });

  // As every `npm run` script does (README): a partner who asks for help is not told off.
  it('answers --help and -h with its usage on stdout, exit 0', () => {
    for (const flag of ['--help', '-h']) {
      const result = spawnSync(process.execPath, [SCRIPT, flag], { encoding: 'utf8' });
      expect(result.status, flag).toBe(0);
      expect(result.stdout, flag).toMatch(/^usage: node verify-proof\.mjs inclusion\|consistency proof\.json/);
    }
  });

  it('runs alone, copied into an empty folder, as a partner would run it', () => {
    // Outside the repository, no node_modules is within reach of the copy: an import of any
    // package would fail to resolve here.
    const alone = mkdtempSync(join(tmpdir(), 'verify-proof-alone-'));
    try {
      const copy = join(alone, 'verify-proof.mjs');
      copyFileSync(SCRIPT, copy);
      const proof = join(alone, 'proof.json');
      writeFileSync(proof, JSON.stringify(inclusionDoc(13, 21)));
      const result = spawnSync(process.execPath, [copy, 'inclusion', proof], { cwd: alone, encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^OK inclusion: entry seq 13 /);
      expect(result.status).toBe(0);
    } finally {
      rmSync(alone, { recursive: true, force: true });
    }
    // Every import, however it is written, is of Node itself.
    const source = readFileSync(SCRIPT, 'utf8');
    const specifiers = [
      ...source.matchAll(/^\s*import\b[^;'"]*['"]([^'"]+)['"]|^\s*export\b[^;'"=]*\bfrom\s*['"]([^'"]+)['"]/gm),
    ].map((m) => m[1] ?? m[2]);
    expect(specifiers.length).toBeGreaterThan(0);
    for (const specifier of specifiers) expect(specifier).toMatch(/^node:/);
    expect(source).not.toMatch(/\brequire\s*\(|\bimport\s*\(/);
  });
});

describe('verify-proof.mjs against the signed checkpoint a proof carries', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyFile = join(dir, 'checkpoint-key.pem');
  writeFileSync(keyFile, publicKey.export({ type: 'spki', format: 'pem' }));
  const signedAt = (treeSize: number, root = hex(rootFromLeafHashes(leaves.slice(0, treeSize)))) =>
    signCheckpoint({ treeSize, rootHash: root, time: '2026-12-02T09:00:00.000Z' }, privateKey, 'audit-signing-key/v1');
  const runWithKey = (kind: string, doc: unknown) => {
    const file = join(dir, `proof-${fileCounter++}.json`);
    writeFileSync(file, JSON.stringify(doc));
    const result = spawnSync(process.execPath, [SCRIPT, kind, file, '--public-key', keyFile], { encoding: 'utf8' });
    return { status: result.status, stdout: result.stdout };
  };

  it('accepts a proof that leads to its checkpoint, and says whether the signature was checked', () => {
    const doc = { ...inclusionDoc(5, 21), checkpoint: signedAt(21) };
    expect(runWithKey('inclusion', doc)).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/signature checked\)\n$/),
    });
    expect(run('inclusion', doc)).toMatchObject({ status: 0, stdout: expect.stringMatching(/signature not checked/) });
    expect(run('inclusion', inclusionDoc(5, 21)).stdout).toMatch(/no signed checkpoint given/);
  });

  it('fails a proof over rewritten entries whose hashes agree with each other but not with the signed root', () => {
    // Entry 3 rewritten and its leaf hash recomputed: a self-consistent proof over another tree.
    const forged = [...leaves];
    forged[2] = entryLeafHash({ ...entries[2]!, decision: 'deny' });
    const tree = forged.slice(0, 21);
    const doc = {
      seq: 3,
      treeSize: 21,
      leafHash: hex(forged[2]!),
      proof: inclusionProof(2, tree).map(hex),
      rootHash: hex(rootFromLeafHashes(tree)),
      checkpoint: signedAt(21),
    };
    expect(run('inclusion', { ...doc, checkpoint: undefined }).status).toBe(0);
    expect(run('inclusion', doc)).toMatchObject({
      status: 1,
      stdout: expect.stringMatching(/^FAILED inclusion: the proof's root is not checkpoint's signed root/),
    });
    const consistency = { ...consistencyDoc(8, 21), toCheckpoint: signedAt(21, hex(rootFromLeafHashes(tree))) };
    expect(run('consistency', consistency)).toMatchObject({
      status: 1,
      stdout: expect.stringMatching(/toCheckpoint's signed root/),
    });
  });

  /**
   * After a rotation of the signing key the two ends of a consistency proof are signed by two
   * versions, and the script took one key: the proof failed as a signature that does not verify,
   * however genuine both were (found by a defect hunt).
   */
  it('checks each checkpoint against the keys given, one for each version of the signing key', () => {
    const rotated = generateKeyPairSync('ed25519');
    const rotatedKeyFile = join(dir, 'checkpoint-key-v2.pem');
    writeFileSync(rotatedKeyFile, rotated.publicKey.export({ type: 'spki', format: 'pem' }));
    const after = signCheckpoint(
      { treeSize: 21, rootHash: hex(rootFromLeafHashes(leaves)), time: '2026-12-03T09:00:00.000Z' },
      rotated.privateKey,
      'audit-signing-key/v2',
    );
    const file = join(dir, `proof-${fileCounter++}.json`);
    writeFileSync(file, JSON.stringify({ ...consistencyDoc(8, 21), fromCheckpoint: signedAt(8), toCheckpoint: after }));
    const withKeys = (...keys: string[]) =>
      spawnSync(process.execPath, [SCRIPT, 'consistency', file, ...keys.flatMap((k) => ['--public-key', k])], {
        encoding: 'utf8',
      });
    expect(withKeys(keyFile, rotatedKeyFile)).toMatchObject({
      status: 0,
      stdout: expect.stringMatching(/^OK consistency: .*signature checked\)\n$/),
    });
    expect(withKeys(rotatedKeyFile, keyFile).status).toBe(0);
    // A checkpoint no key given verifies still fails, naming the version whose key it wants, so the
    // DPO can ask for it (`npm run audit -- public-key audit-signing-key/v2`): the failure named no
    // key, and a genuine checkpoint of a version not given read as forged.
    expect(withKeys(keyFile)).toMatchObject({
      status: 1,
      stdout:
        "FAILED consistency: toCheckpoint's signature does not verify under the public keys given (it names audit-signing-key/v2)\n",
      stderr: '',
    });
  });

  // The signature's text was decoded leniently: one with characters added or its padding taken off
  // decoded to the same 64 bytes, and the altered checkpoint was OK (found by a defect hunt).
  it('fails a checkpoint whose signature does not verify, or that is of another tree size', () => {
    const checkpoint = signedAt(21);
    const tampered = { ...checkpoint, time: '2026-12-03T09:00:00.000Z' };
    expect(runWithKey('inclusion', { ...inclusionDoc(5, 21), checkpoint: tampered })).toMatchObject({
      status: 1,
      stdout: expect.stringMatching(/signature does not verify/),
    });
    // Text base64 decoding passes over: characters that are not base64, and what follows the padding.
    for (const signature of [
      `${checkpoint.signature}AAAA`,
      `!${checkpoint.signature}`,
      checkpoint.signature.slice(0, -2),
    ]) {
      expect(
        runWithKey('inclusion', { ...inclusionDoc(5, 21), checkpoint: { ...checkpoint, signature } }),
        signature,
      ).toEqual({
        status: 1,
        stdout: "FAILED inclusion: checkpoint's signature is not a 64-byte Ed25519 signature in standard base64\n",
      });
    }
    expect(run('inclusion', { ...inclusionDoc(5, 20), checkpoint })).toMatchObject({
      status: 1,
      stdout: expect.stringMatching(/another tree size/),
    });
  });
});
