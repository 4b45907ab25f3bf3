#!/usr/bin/env node
/**
 * Stand-alone verifier for lintel access-log proofs, for partners and data protection
 * officers who want to check the log without trusting lintel's own code.
 *
 * It deliberately imports nothing from the project - only node:crypto and node:fs -
 * and re-implements the RFC 9162 (Certificate Transparency v2) verification
 * algorithms from the RFC text, so a bug in the service cannot hide itself here.
 * Copy this one file anywhere with Node.js 18 or later.
 *
 * Usage:
 *   node verify-proof.mjs inclusion   proof.json [--public-key key.pem ...]
 *   node verify-proof.mjs consistency proof.json [--public-key key.pem ...]
 *
 * inclusion proof.json (as returned by the API):
 *   { "seq": N, "treeSize": S, "leafHash": hex, "proof": [hex, ...], "rootHash": hex }
 *   seq is the entry's 1-based sequence number; its leaf index is seq - 1.
 *   "entry": the access-log entry itself, as the API gives it to a DPO whose agreements the
 *   entry is the business of (null, or absent, otherwise). Its leaf hash is recomputed from
 *   canonical JSON (sorted keys, no whitespace, UTF-8) and must equal "leafHash" - this checks
 *   the entry you were shown is the one the log committed to, not merely some hash.
 *
 * consistency proof.json:
 *   { "from": A, "to": B, "fromRoot": hex, "toRoot": hex, "proof": [hex, ...] }
 *   shows the log of B entries extends the log of A entries unchanged.
 *
 * Signed checkpoints: the API puts the anchored checkpoint of the proof's tree size beside the
 * proof ("checkpoint"; "fromCheckpoint" and "toCheckpoint" for consistency), or null. A proof
 * only shows that hashes agree with a root; a checkpoint given must be of that tree size and
 * that root, or the proof fails. With --public-key (the Ed25519 public key of the checkpoint's
 * keyId, PEM) each checkpoint's signature is checked too, over the text
 *   "lintel access-log checkpoint v1\n<keyId>\n<treeSize>\n<rootHash>\n<time>\n".
 * Give --public-key once for each version of the signing key: after a rotation the two ends of a
 * consistency proof are signed by two versions, and each checkpoint must verify under one of them.
 * Without it the output says the signature was not checked. For a proof without a checkpoint,
 * compare its root with the checkpoints from the WORM anchors yourself.
 *
 * Prints one line starting "OK" and exits 0 when the proof holds, or one line starting
 * "FAILED" and exits 1 when it does not (including malformed input). Exit 2 means the
 * command itself was used wrongly; --help (or -h) prints the usage line and exits 0.
 */
import { createHash, createPublicKey, timingSafeEqual, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TextDecoder } from 'node:util';

const HASH_LENGTH = 32;
const HEX_HASH = new RegExp(`^[0-9a-fA-F]{${HASH_LENGTH * 2}}$`);

class ProofInputError extends Error {}

function sha256(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** RFC 6962 leaf hash: SHA-256(0x00 || entry bytes). */
function leafHash(bytes) {
  return sha256(Buffer.of(0x00), bytes);
}

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
function nodeHash(left, right) {
  return sha256(Buffer.of(0x01), left, right);
}

function equal(a, b) {
  return a.length === b.length && timingSafeEqual(a, b);
}

function isOdd(n) {
  return n % 2 === 1;
}

function half(n) {
  return Math.floor(n / 2);
}

function isPowerOfTwo(n) {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

function hash(value, name) {
  if (typeof value !== 'string' || !HEX_HASH.test(value)) {
    throw new ProofInputError(`${name} must be a 64-digit hex SHA-256 hash`);
  }
  return Buffer.from(value, 'hex');
}

function hashList(value, name) {
  if (!Array.isArray(value)) throw new ProofInputError(`${name} must be an array of hex hashes`);
  return value.map((v, i) => hash(v, `${name}[${i}]`));
}

function count(value, name, min) {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ProofInputError(`${name} must be an integer >= ${min}`);
  }
  return value;
}

/**
 * How deep an entry's values may nest. An access-log entry is an object of strings, integers and
 * lists of strings (depth 2); a proof nesting thousands deep overflowed the stack, and the script
 * ended in a stack trace rather than a FAILED line.
 */
const MAX_ENTRY_DEPTH = 32;

/**
 * Canonical JSON as lintel hashes entries: keys sorted by UTF-16 code units, no
 * whitespace, arrays in order, strings as JSON.stringify writes them, integers only.
 */
function canonicalJson(value, depth = 0) {
  if (depth > MAX_ENTRY_DEPTH) throw new ProofInputError('entry nests deeper than any access-log entry');
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new ProofInputError('entry contains a non-integer number');
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item, depth + 1)).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k], depth + 1)}`).join(',')}}`;
  }
  throw new ProofInputError('entry contains a value JSON cannot hold');
}

/** RFC 9162 §2.1.3.2: verify an inclusion proof. Returns a reason string or null. */
function checkInclusion(index, treeSize, leaf, proof, root) {
  if (index >= treeSize) return 'leaf index is not inside the tree';
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return 'proof has more hashes than the path to the root';
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return 'proof has fewer hashes than the path to the root';
  if (!equal(r, root)) return 'proof leads to a different root hash';
  return null;
}

/** RFC 9162 §2.1.4.2: verify a consistency proof. Returns a reason string or null. */
function checkConsistency(from, to, fromRoot, toRoot, proof) {
  if (from > to) return 'from is larger than to: a log never shrinks';
  if (from === to) {
    if (proof.length !== 0) return 'proof between equal sizes must be empty';
    return equal(fromRoot, toRoot) ? null : 'same size but different root hashes';
  }
  if (from === 0) {
    if (proof.length !== 0) return 'proof from the empty tree must be empty';
    return equal(fromRoot, sha256()) ? null : 'fromRoot is not the empty-tree root';
  }
  if (proof.length === 0) return 'proof is empty';

  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof];
  let fn = from - 1;
  let sn = to - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return 'proof has more hashes than needed';
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return 'proof has fewer hashes than needed';
  if (!equal(fr, fromRoot)) return 'proof does not lead to fromRoot';
  if (!equal(sr, toRoot)) return 'proof does not lead to toRoot';
  return null;
}

const CHECKPOINT_DOMAIN = 'lintel access-log checkpoint v1';
const ED25519_SIGNATURE_LENGTH = 64;

/**
 * Checks a signed checkpoint the proof carries against the proof's tree size and root, and its
 * signature when public keys are given (under any one of them). Returns a reason string or null;
 * null for no checkpoint.
 */
function checkCheckpoint(checkpoint, treeSize, root, publicKeys, name) {
  if (checkpoint === undefined || checkpoint === null) return null;
  if (typeof checkpoint !== 'object' || Array.isArray(checkpoint))
    throw new ProofInputError(`${name} must be an object or null`);
  if (checkpoint.treeSize !== treeSize) return `${name} is of another tree size`;
  if (!equal(hash(checkpoint.rootHash, `${name}.rootHash`), root))
    return `the proof's root is not ${name}'s signed root`;
  if (publicKeys.length === 0) return null;
  const { keyId, time, signature } = checkpoint;
  if (
    typeof keyId !== 'string' ||
    !/^[\x21-\x7e]+$/.test(keyId) ||
    typeof time !== 'string' ||
    typeof signature !== 'string'
  ) {
    throw new ProofInputError(`${name} needs keyId, time and signature`);
  }
  const message = Buffer.from(`${CHECKPOINT_DOMAIN}\n${keyId}\n${treeSize}\n${checkpoint.rootHash}\n${time}\n`, 'utf8');
  // Buffer.from skips characters that are not base64 and reads nothing past the padding, so a
  // signature with characters added decoded alike and the altered checkpoint verified; lintel
  // writes it as standard base64, one text for the 64 bytes.
  const signatureBytes = Buffer.from(signature, 'base64');
  if (signatureBytes.length !== ED25519_SIGNATURE_LENGTH || signatureBytes.toString('base64') !== signature)
    return `${name}'s signature is not a ${ED25519_SIGNATURE_LENGTH}-byte Ed25519 signature in standard base64`;
  // The key id named: a genuine checkpoint signed by a version whose key was not given reads as
  // forged otherwise, and the DPO is not told which version to ask for (npm run audit -- public-key).
  if (!publicKeys.some((key) => verify(null, message, key, signatureBytes)))
    return `${name}'s signature does not verify under the public keys given (it names ${keyId})`;
  return null;
}

/** What the output says of the checkpoints a proof carried. */
function checkpointNote(checkpoints, publicKeys) {
  const carried = checkpoints.filter((c) => c !== undefined && c !== null).length;
  if (carried === 0) return ' (no signed checkpoint given: compare the root with the anchored checkpoints)';
  return publicKeys.length === 0
    ? ' (root matches the signed checkpoint; signature not checked: pass --public-key)'
    : ' (root matches the signed checkpoint; signature checked)';
}

/** Checks an inclusion proof document; returns { ok, message }. */
function verifyInclusionDocument(doc, publicKeys) {
  const seq = count(doc.seq, 'seq', 1);
  const treeSize = count(doc.treeSize, 'treeSize', 1);
  const leaf = hash(doc.leafHash, 'leafHash');
  const proof = hashList(doc.proof, 'proof');
  const root = hash(doc.rootHash, 'rootHash');
  // null is the API's "not yours to see": the proof still holds for the leaf hash alone.
  const entryGiven = doc.entry !== undefined && doc.entry !== null;
  if (entryGiven) {
    if (typeof doc.entry !== 'object' || Array.isArray(doc.entry)) {
      return { ok: false, message: 'entry must be a JSON object' };
    }
    if (doc.entry.seq !== seq) return { ok: false, message: 'entry.seq does not match seq' };
    const recomputed = leafHash(Buffer.from(canonicalJson(doc.entry), 'utf8'));
    if (!equal(recomputed, leaf)) return { ok: false, message: 'entry does not hash to leafHash' };
  }
  const reason = checkInclusion(seq - 1, treeSize, leaf, proof, root);
  if (reason !== null) return { ok: false, message: reason };
  const signed = checkCheckpoint(doc.checkpoint, treeSize, root, publicKeys, 'checkpoint');
  if (signed !== null) return { ok: false, message: signed };
  const checkedEntry = entryGiven ? ' (entry content checked)' : '';
  return {
    ok: true,
    message: `entry seq ${seq}${checkedEntry} is included in the tree of size ${treeSize} with root ${root.toString('hex')}${checkpointNote([doc.checkpoint], publicKeys)}`,
  };
}

/** Checks a consistency proof document; returns { ok, message }. */
function verifyConsistencyDocument(doc, publicKeys) {
  const from = count(doc.from, 'from', 0);
  const to = count(doc.to, 'to', 0);
  const fromRoot = hash(doc.fromRoot, 'fromRoot');
  const toRoot = hash(doc.toRoot, 'toRoot');
  const proof = hashList(doc.proof, 'proof');
  const reason = checkConsistency(from, to, fromRoot, toRoot, proof);
  if (reason !== null) return { ok: false, message: reason };
  const signed =
    checkCheckpoint(doc.fromCheckpoint, from, fromRoot, publicKeys, 'fromCheckpoint') ??
    checkCheckpoint(doc.toCheckpoint, to, toRoot, publicKeys, 'toCheckpoint');
  if (signed !== null) return { ok: false, message: signed };
  return {
    ok: true,
    message: `tree of size ${to} with root ${toRoot.toString('hex')} extends tree of size ${from} with root ${fromRoot.toString('hex')}${checkpointNote([doc.fromCheckpoint, doc.toCheckpoint], publicKeys)}`,
  };
}

/**
 * The proof file's text: UTF-8, with or without a byte-order mark, or UTF-16 with one. A response
 * body saved on Windows is often written so (Notepad or PowerShell 5.1's Out-File -Encoding utf8
 * put a UTF-8 mark before it, its Out-File and `>` write UTF-16), and was "not valid JSON".
 */
function proofText(bytes) {
  const encoding =
    bytes[0] === 0xff && bytes[1] === 0xfe ? 'utf-16le' : bytes[0] === 0xfe && bytes[1] === 0xff ? 'utf-16be' : 'utf-8';
  // TextDecoder drops the byte-order mark of its own encoding.
  return new TextDecoder(encoding).decode(bytes);
}

const USAGE = 'usage: node verify-proof.mjs inclusion|consistency proof.json [--public-key key.pem ...]\n';

function main(argv) {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [kind, file, ...options] = argv;
  const keyFiles = options.filter((_, i) => i % 2 === 1);
  const keysOnly = options.length % 2 === 0 && options.every((o, i) => i % 2 === 1 || o === '--public-key');
  if ((kind !== 'inclusion' && kind !== 'consistency') || file === undefined || !keysOnly) {
    process.stderr.write(USAGE);
    return 2;
  }
  const publicKeys = [];
  for (const keyFile of keyFiles) {
    let publicKey;
    try {
      publicKey = createPublicKey(readFileSync(keyFile, 'utf8'));
    } catch {
      process.stderr.write('verify-proof: the public key file cannot be read as a PEM public key\n');
      return 2;
    }
    if (publicKey.asymmetricKeyType !== 'ed25519') {
      process.stderr.write('verify-proof: the public key must be Ed25519\n');
      return 2;
    }
    publicKeys.push(publicKey);
  }
  let doc;
  try {
    doc = JSON.parse(proofText(readFileSync(file)));
  } catch (err) {
    const why = err instanceof SyntaxError ? 'is not valid JSON' : 'cannot be read';
    process.stdout.write(`FAILED ${kind}: proof file ${why}\n`);
    return 1;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    process.stdout.write(`FAILED ${kind}: proof file must hold a JSON object\n`);
    return 1;
  }
  let outcome;
  try {
    outcome =
      kind === 'inclusion' ? verifyInclusionDocument(doc, publicKeys) : verifyConsistencyDocument(doc, publicKeys);
  } catch (err) {
    if (err instanceof ProofInputError) {
      process.stdout.write(`FAILED ${kind}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(`${outcome.ok ? 'OK' : 'FAILED'} ${kind}: ${outcome.message}\n`);
  return outcome.ok ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
