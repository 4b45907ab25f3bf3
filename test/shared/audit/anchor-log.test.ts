import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { fromRow } from '../../../shared/audit/access-log-rows.js';
import { AnchorLog, LEGACY_ANCHOR_BLOB, type AnchorLogOptions } from '../../../shared/audit/anchor-log.js';
import {
  checkCheckpointSequence,
  CheckpointLogError,
  formatCheckpointLine,
  parseCheckpointLog,
  signCheckpoint,
  type Checkpoint,
} from '../../../shared/audit/checkpoint.js';
import { writeCheckpoint } from '../../../shared/audit/checkpointer.js';
import { anchoredCheckpoints, recordAnchoredCheckpoint } from '../../../shared/audit/anchored-checkpoints.js';
import {
  consistencyProofFor,
  inclusionProofFor,
  LOG_INCONSISTENT,
  verifyLog,
} from '../../../shared/audit/audit-service.js';
import type { Services } from '../../../shared/services.js';
import { encodeEntry } from '../../../shared/audit/entry-codec.js';
import { logSize } from '../../../shared/audit/leaf-stream.js';
import { consistencyProof, leafHash, rootFromLeafHashes } from '../../../shared/audit/merkle.js';
import { currentSigningKey, publicKeysFor } from '../../../shared/audit/signing-keys.js';
import { verifyAccessLog } from '../../../shared/audit/verify-log.js';
import { createLogger } from '../../../shared/logging.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import {
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretName,
  type SecretSource,
} from '../../../shared/secrets/secret-source.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { leafHashes } from '../../support/stored-leaves.js';
import { restoreStoreState, storeState, type StoreState } from '../../support/store-state.js';

const blobs = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
const logger = createLogger('error');

/**
 * Gives each test of the calling describe a store with its access log, a local secret file and an
 * anchor container of its own on the shared Azurite (`take` receives them before each test), and
 * removes the container after it. The describe's tests share one store and access log, put back
 * empty before each: one of their own each started the store's threads again.
 */
function useFreshAnchors(
  take: (fresh: { store: Store; accessLog: AccessLog; secrets: LocalSecretSource; container: ContainerClient }) => void,
): void {
  let dir: string;
  let store: Store;
  let accessLog: AccessLog;
  let empty: StoreState;
  let container: ContainerClient;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lintel-anchors-'));
    store = openStore({ engine: 'sqlite', path: join(dir, 'log.db') });
    await migrateToLatest(store);
    accessLog = new AccessLog(store, logger);
    empty = storeState(store);
  });
  beforeEach(async () => {
    restoreStoreState(store, empty);
    container = blobs.getContainerClient(`anchors-${randomUUID().slice(0, 8)}`);
    await container.create();
    take({ store, accessLog, secrets: new LocalSecretSource(join(dir, `secrets-${randomUUID()}.json`)), container });
  });
  afterEach(async () => {
    await accessLog.drain();
    await container.deleteIfExists();
  });
  afterAll(async () => {
    await accessLog?.close();
    await store?.close();
  });
}

/** A checkpointer run at `at`, with the warnings it logged. */
async function checkpointWarning(
  deps: Pick<Parameters<typeof writeCheckpoint>[0], 'store' | 'anchors' | 'secrets'>,
  at: string,
) {
  const said: string[] = [];
  const outcome = await writeCheckpoint({
    ...deps,
    logger: createLogger('warn', (line) => said.push(line)),
    now: () => new Date(at),
  });
  return { outcome, warnings: said.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

let searchesLogged = 0;
/** Appends `n` allowed searches, each with a request id of its own, about five people in turn. */
async function logSearches(accessLog: AccessLog, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    searchesLogged++;
    await accessLog.append({
      requestId: `req-${searchesLogged}`,
      partyId: 'kettering-borough-council',
      clientId: 'client',
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
      action: 'person.search',
      subjectRef: `person-${searchesLogged % 5}`,
      datasets: ['keyways-housing-register'],
      fields: ['keyways-housing-register.firstName'],
      decision: 'allow',
      reasonCode: 'granted',
    });
  }
}

/**
 * The anchor log on the shared Azurite, each test in a container of its own: checkpoints go to
 * one append blob per month and to the next part when a blob is full, and are read back, with
 * the single blob of the old layout first, in the order they were anchored.
 */
describe('anchor log periods', () => {
  let container: ContainerClient;
  let store: Store;
  let accessLog: AccessLog;
  let secrets: LocalSecretSource;

  useFreshAnchors((fresh) => ({ store, accessLog, secrets, container } = fresh));

  const anchorsWith = (options: Omit<AnchorLogOptions, 'container'> = {}) =>
    new AnchorLog(blobs, { container: container.containerName, ...options });

  const logEntries = (n: number) => logSearches(accessLog, n);
  const anchorAt = async (anchors: AnchorLog, time: string) => {
    const outcome = await writeCheckpoint({ store, anchors, secrets, logger, now: () => new Date(time) });
    expect(outcome.alarm).toBe(false);
    return outcome.checkpoint;
  };
  /** What the container holds, straight from the service: blob name → tree sizes of its lines. */
  const contents = async () => {
    const found = new Map<string, number[]>();
    for await (const item of container.listBlobsFlat()) {
      const text = (await container.getBlobClient(item.name).downloadToBuffer()).toString('utf8');
      found.set(
        item.name,
        parseCheckpointLog(text).map((c) => c.treeSize),
      );
    }
    return Object.fromEntries(found);
  };
  /** Verification as `npm run audit -- verify` does it, plus the checkpoints' own consistency. */
  const verify = async (anchors: AnchorLog) => {
    const checkpoints = await anchors.read();
    const keys = await publicKeysFor(
      secrets,
      checkpoints.map((c) => c.keyId),
    );
    const report = await verifyAccessLog(store, checkpoints, keys);
    const sequence = await checkCheckpointSequence(checkpoints, {
      publicKeys: keys,
      consistencyProof: async (from, to) => consistencyProof(from, to, await leafHashes(store, to)),
    });
    return { report, sequence, treeSizes: checkpoints.map((c) => c.treeSize) };
  };

  /**
   * On an empty log the checkpointer anchored a checkpoint of 0 entries, the empty tree's root:
   * a signed statement that proves nothing, which a DPO reading the anchors met as the first line.
   */
  it('anchors nothing while the access log is empty, and signs its first entries once they come', async () => {
    const anchors = anchorsWith();
    const { outcome, warnings } = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:00:00.000Z');
    expect(outcome).toEqual({ checkpoint: undefined, alarm: false, emptyLog: true });
    expect(warnings).toEqual([]);
    expect(await contents()).toEqual({});

    await logEntries(2);
    await anchorAt(anchors, '2026-12-01T00:05:00.000Z');
    expect(await contents()).toEqual({ 'checkpoints/2026-12.jsonl': [2] });
    expect((await verify(anchors)).report).toMatchObject({ ok: true, entries: 2, checkpoints: 1 });
  });

  it('puts a sequence spanning two months into two blobs and verifies across both in order', async () => {
    const anchors = anchorsWith();
    await logEntries(5);
    await anchorAt(anchors, '2026-11-30T23:55:00.000Z');
    await logEntries(3);
    await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    await logEntries(2);
    await anchorAt(anchors, '2026-12-01T00:05:00.000Z');

    expect(await contents()).toEqual({
      'checkpoints/2026-11.jsonl': [5],
      'checkpoints/2026-12.jsonl': [8, 10],
    });
    expect(await anchors.blobNames()).toEqual(['checkpoints/2026-11.jsonl', 'checkpoints/2026-12.jsonl']);
    expect((await anchors.latest())?.treeSize).toBe(10);
    const { report, sequence, treeSizes } = await verify(anchors);
    expect(treeSizes).toEqual([5, 8, 10]);
    expect(sequence).toEqual([]);
    expect(report).toMatchObject({ ok: true, entries: 10, checkpoints: 3, firstBadSeq: null });

    // Nothing new to sign: the checkpointer found the last checkpoint in December's blob.
    expect(await anchorAt(anchors, '2026-12-01T00:10:00.000Z')).toBeUndefined();
  });

  it('rolls a full blob over to the next part and keeps anchoring, parts read in numeric order', async () => {
    let anchors = anchorsWith({ maxBlocksPerBlob: 2 });
    for (let i = 1; i <= 5; i++) {
      await logEntries(1);
      expect((await anchorAt(anchors, `2026-12-0${i}T09:00:00.000Z`))?.treeSize).toBe(i);
    }
    expect(await contents()).toEqual({
      'checkpoints/2026-12.jsonl': [1, 2],
      'checkpoints/2026-12.2.jsonl': [3, 4],
      'checkpoints/2026-12.3.jsonl': [5],
    });

    // One block a blob, ten parts and more: part 10 comes after part 9, not after part 1.
    anchors = anchorsWith({ maxBlocksPerBlob: 1 });
    for (let i = 6; i <= 13; i++) {
      await logEntries(1);
      await anchorAt(anchors, `2026-12-${10 + i}T09:00:00.000Z`);
    }
    // A new month starts again at part 1.
    await logEntries(1);
    await anchorAt(anchors, '2027-01-01T00:00:00.000Z');

    const names = await anchors.blobNames();
    expect(names.slice(-4)).toEqual([
      'checkpoints/2026-12.9.jsonl',
      'checkpoints/2026-12.10.jsonl',
      'checkpoints/2026-12.11.jsonl',
      'checkpoints/2027-01.jsonl',
    ]);
    for (const name of names) {
      const properties = await container.getAppendBlobClient(name).getProperties();
      expect(properties.blobCommittedBlockCount).toBeLessThanOrEqual(2);
    }
    const { report, sequence, treeSizes } = await verify(anchors);
    expect(treeSizes).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    expect(sequence).toEqual([]);
    expect(report).toMatchObject({ ok: true, entries: 14, checkpoints: 14, firstBadSeq: null });
  });

  it('still reads the single blob of the old layout, first, and extends it into the months', async () => {
    // The old layout, written as the old code wrote it: one append blob, one block a line.
    const { keyId, privateKey } = await currentSigningKey(secrets);
    const legacy = container.getAppendBlobClient(LEGACY_ANCHOR_BLOB);
    await legacy.create({ blobHTTPHeaders: { blobContentType: 'application/x-ndjson' } });
    for (const [size, time] of [
      [3, '2026-06-01T10:00:00.000Z'],
      [6, '2026-06-01T10:05:00.000Z'],
    ] as const) {
      await logEntries(3);
      const root = rootFromLeafHashes(await leafHashes(store, size)).toString('hex');
      const line = Buffer.from(
        formatCheckpointLine(signCheckpoint({ treeSize: size, rootHash: root, time }, privateKey, keyId)),
      );
      await legacy.appendBlock(line, line.byteLength);
    }

    const anchors = anchorsWith();
    expect((await anchors.read()).map((c) => c.treeSize)).toEqual([3, 6]);
    // The checkpointer sees the old blob's last checkpoint: an unchanged log signs nothing.
    expect(await anchorAt(anchors, '2026-06-01T10:10:00.000Z')).toBeUndefined();

    await logEntries(3);
    await anchorAt(anchors, '2026-06-01T10:15:00.000Z');
    expect(await contents()).toEqual({
      [LEGACY_ANCHOR_BLOB]: [3, 6],
      'checkpoints/2026-06.jsonl': [9],
    });
    const { report, sequence, treeSizes } = await verify(anchors);
    expect(treeSizes).toEqual([3, 6, 9]);
    expect(sequence).toEqual([]);
    expect(report).toMatchObject({ ok: true, entries: 9, checkpoints: 3, firstBadSeq: null });
  });

  it('names the blob of an unreadable line', async () => {
    const anchors = anchorsWith();
    await logEntries(1);
    await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    const line = Buffer.from('not json\n');
    await container.getAppendBlobClient('checkpoints/2026-12.jsonl').appendBlock(line, line.byteLength);
    const err = await anchors.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointLogError);
    expect(err).toMatchObject({ lineNumber: 2, blobName: 'checkpoints/2026-12.jsonl' });
  });

  it('reports a damaged line where it is, and goes on signing and proving against the intact checkpoints', async () => {
    const anchors = anchorsWith();
    const services = { store, anchors, secrets } as unknown as Services;
    await logEntries(4);
    await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    // A line appended by hand: the container is append-only, so it stays for good.
    const line = Buffer.from('{"treeSize":9,"rootHash":"00"}\n');
    await container.getAppendBlobClient('checkpoints/2026-12.jsonl').appendBlock(line, line.byteLength);
    await logEntries(2);

    // Verify (the endpoint's and the CLI's) names the line, and still checks the log against the rest.
    const report = await verifyLog(services);
    expect(report).toMatchObject({ ok: false, entries: 6, checkpoints: 1, firstBadSeq: 5, signedEntries: 4 });
    expect(report.problems).toEqual([
      {
        kind: 'anchor-line-damaged',
        seq: 5,
        checkpoint: 1,
        anchor: {
          blob: 'checkpoints/2026-12.jsonl',
          line: 2,
          reason: expect.stringMatching(/^not a valid checkpoint \(.*time.*\)$/),
        },
      },
    ]);
    expect(JSON.stringify(report)).not.toContain('"rootHash":"00"');

    // The checkpointer says so at every run, and signs on from the last intact checkpoint.
    const { outcome, warnings } = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:05:00.000Z');
    expect(outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 6 } });
    expect(warnings).toEqual([
      expect.objectContaining({ event: 'audit.anchor-line-damaged', blob: 'checkpoints/2026-12.jsonl', line: 2 }),
    ]);
    expect((await verifyLog(services)).problems.map((p) => p.kind)).toEqual(['anchor-line-damaged']);
    expect((await verifyLog(services)).signedEntries).toBe(6);

    // A proof is given against the intact checkpoint of its size.
    const proof = await inclusionProofFor(services, 2, 6);
    expect(proof).toMatchObject({ seq: 2, treeSize: 6, checkpointed: true, checkpoint: { treeSize: 6 } });
  });

  // A checkpoint line appended again word for word (the container takes appends from anyone who
  // may write to it) read as a checkpoint smaller than the one before it: checkpoint-regressed,
  // and verify FAILED for good, as the line can never be removed.
  it('names a line replaying an earlier checkpoint as a duplicate, and still verifies the log', async () => {
    const anchors = anchorsWith();
    const services = { store, anchors, secrets } as unknown as Services;
    await logEntries(4);
    await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    const blob = container.getAppendBlobClient('checkpoints/2026-12.jsonl');
    const first = await blob.downloadToBuffer();
    await logEntries(2);
    await anchorAt(anchors, '2026-12-01T00:05:00.000Z');
    await blob.appendBlock(first, first.byteLength);

    const report = await verifyLog(services);
    expect(report).toMatchObject({ ok: true, entries: 6, checkpoints: 3, firstBadSeq: null, signedEntries: 6 });
    expect(report.problems).toEqual([{ kind: 'anchor-line-duplicate', seq: 4, checkpoint: 2 }]);

    // The checkpointer signs on from the log's real head, and verify still names the line alone.
    await logEntries(1);
    expect(await anchorAt(anchors, '2026-12-01T00:10:00.000Z')).toMatchObject({ treeSize: 7 });
    expect(await verifyLog(services)).toMatchObject({
      ok: true,
      signedEntries: 7,
      problems: [{ kind: 'anchor-line-duplicate', seq: 4, checkpoint: 2 }],
    });
  });

  // Duplicates fail nothing, but each took one of the report's hundred places: a hundred of them,
  // appended by anyone who may write to the container, left no place for an altered entry, and
  // verify said OK over a rewritten log.
  it('still fails a log with an altered entry behind a hundred duplicate anchor lines', async () => {
    const anchors = anchorsWith();
    const services = { store, anchors, secrets } as unknown as Services;
    await logEntries(4);
    await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    const blob = container.getAppendBlobClient('checkpoints/2026-12.jsonl');
    const line = await blob.downloadToBuffer();
    const replayed = Buffer.concat(Array.from({ length: 100 }, () => line));
    await blob.appendBlock(replayed, replayed.byteLength);
    await sql`drop trigger access_log_no_update`.execute(store.db);
    await sql`update access_log set decision = 'deny' where seq = 2`.execute(store.db);

    const report = await verifyLog(services);
    expect(report).toMatchObject({ ok: false, firstBadSeq: 2 });
    expect(report.problems.map((p) => p.kind)).toContain('entry-altered');
  });
});

/**
 * Anyone who may append to the anchor container (its immutability policy allows appends) can add
 * a well-formed line signed by a key of their own. Verify names it, but it must cost no more than
 * a damaged line: the checkpointer and the proofs go on from the last checkpoint signed by a key
 * of the log's own, rather than take the stranger as the log's head (found by a review).
 */
describe('a checkpoint line signed by a key not in the key history', () => {
  let container: ContainerClient;
  let store: Store;
  let accessLog: AccessLog;
  let secrets: LocalSecretSource;

  useFreshAnchors((fresh) => ({ store, accessLog, secrets, container } = fresh));

  const logEntries = (n: number) => logSearches(accessLog, n);
  const appendLine = async (cp: Checkpoint) => {
    const line = Buffer.from(formatCheckpointLine(cp));
    await container.getAppendBlobClient('checkpoints/2026-12.jsonl').appendBlock(line, line.byteLength);
  };

  it.each([
    ['under the key id of the key in force', async () => (await currentSigningKey(secrets)).keyId],
    ['under a key id of its own', () => Promise.resolve('audit-signing-key/not-ours')],
  ])('%s: verify names it; signing and proofs go on from the last checkpoint of our own', async (_name, keyIdOf) => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const services = { store, anchors, secrets, logger } as unknown as Services;
    await logEntries(4);
    const first = await writeCheckpoint({
      store,
      anchors,
      secrets,
      logger,
      now: () => new Date('2026-12-01T00:00:00.000Z'),
    });
    expect(first).toMatchObject({ alarm: false, checkpoint: { treeSize: 4 } });
    // A stranger's checkpoint: a root the log never had, dated a year ahead.
    const stranger = generateKeyPairSync('ed25519').privateKey;
    await appendLine(
      signCheckpoint(
        { treeSize: 4, rootHash: 'ab'.repeat(32), time: '2027-12-01T00:00:00.000Z' },
        stranger,
        await keyIdOf(),
      ),
    );
    await logEntries(2);

    const { outcome, warnings } = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:05:00.000Z');
    expect(outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 6 } });
    expect(warnings).toEqual([
      expect.objectContaining({ event: 'audit.anchor-line-unsigned', blob: 'checkpoints/2026-12.jsonl', treeSize: 4 }),
    ]);

    const report = await verifyLog(services);
    expect(report).toMatchObject({ ok: false, entries: 6, signedEntries: 6 });
    expect(report.problems).toEqual([{ kind: 'checkpoint-signature', seq: 4, checkpoint: 1 }]);

    // Proofs stand on the checkpoints signed by the log's own keys, and never carry the stranger's.
    const proof = await inclusionProofFor(services, 2);
    expect(proof).toMatchObject({ seq: 2, treeSize: 4, checkpointed: true, checkpoint: { treeSize: 4 } });
    expect(proof).not.toBe(LOG_INCONSISTENT);
    if (proof !== undefined && proof !== LOG_INCONSISTENT) expect(proof.rootHash).toBe(first.checkpoint!.rootHash);
    expect(await consistencyProofFor(services, 4, 6)).toMatchObject({
      fromCheckpoint: { treeSize: 4, rootHash: first.checkpoint!.rootHash },
      toCheckpoint: { treeSize: 6 },
    });
  });
});

/**
 * Verify reads each checkpoint's key version from the secret store. A version that could not be
 * read this time (Key Vault throttled, a network fault) says nothing about the checkpoint: the
 * DPO must be told verification could not run, not that the log was tampered with. A version
 * that is gone (deleted, disabled) cannot vouch for its checkpoints, which verify names unverifiable.
 */
describe('verify while a signing key version cannot be read', () => {
  let container: ContainerClient;
  let store: Store;
  let accessLog: AccessLog;
  let secrets: LocalSecretSource;

  useFreshAnchors((fresh) => ({ store, accessLog, secrets, container } = fresh));

  /** The secret store, with every read of a named version failing as `fault` makes it. */
  const versionsFailing = (fault: (name: SecretName) => Error): SecretSource => ({
    get: (name, version) => (version === undefined ? secrets.get(name) : Promise.reject(fault(name))),
  });

  it('fails the run on a passing fault instead of reporting the checkpoints as forged, and names them once the version is gone', async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    await logSearches(accessLog, 3);
    await writeCheckpoint({ store, anchors, secrets, logger, now: () => new Date('2026-12-01T00:00:00.000Z') });
    const servicesWith = (source: SecretSource) => ({ store, anchors, secrets: source, logger }) as unknown as Services;
    expect(await verifyLog(servicesWith(secrets))).toMatchObject({ ok: true, entries: 3, signedEntries: 3 });

    const throttled = servicesWith(versionsFailing((name) => new SecretUnavailableError(name)));
    await expect(verifyLog(throttled)).rejects.toBeInstanceOf(SecretUnavailableError);
    await expect(inclusionProofFor(throttled, 1)).rejects.toBeInstanceOf(SecretUnavailableError);

    const gone = await verifyLog(servicesWith(versionsFailing((name) => new SecretVersionGoneError(name))));
    expect(gone).toMatchObject({ ok: false, signedEntries: 0 });
    // Unverifiable, not forged (the describe about a rotation that disables the old versions).
    expect(gone.problems).toEqual([
      {
        kind: 'checkpoint-unverifiable',
        seq: 3,
        checkpoint: 0,
        keyId: (await currentSigningKey(secrets)).keyId,
        checkpoints: 1,
      },
    ]);
  });

  it('asks the secret store only for key ids shaped as its own versions', async () => {
    const asked: string[] = [];
    const refusing: SecretSource = {
      get: (name, version) => {
        asked.push(version ?? '');
        return Promise.reject(new SecretUnavailableError(name));
      },
    };
    const keyIds = ['audit-signing-key/not-a-version!', 'audit-signing-key/a/b', 'pseudonymisation-key/abc', 'x'];
    expect((await publicKeysFor(refusing, keyIds)).size).toBe(0);
    expect(asked).toEqual([]);
  });
});

/**
 * The anchor container is WORM only once its immutability policy is locked (in production); before
 * that, and locally, an anchor blob can be deleted, or deleted and written again shorter. The
 * checkpointer read an anchor log without the blob as a log never anchored, and signed the whole
 * log afresh; verify found nothing amiss (found by a defect hunt). The store keeps each checkpoint
 * the checkpointer anchored, so a checkpoint gone from the anchors raises the alarm and is named.
 */
describe('an anchor blob deleted or written again shorter', () => {
  let container: ContainerClient;
  let store: Store;
  let accessLog: AccessLog;
  let secrets: LocalSecretSource;

  useFreshAnchors((fresh) => ({ store, accessLog, secrets, container } = fresh));

  const anchorAt = async (anchors: AnchorLog, at: string) => {
    const outcome = await writeCheckpoint({ store, anchors, secrets, logger, now: () => new Date(at) });
    expect(outcome.alarm).toBe(false);
    return outcome.checkpoint!;
  };
  const blobNamesNow = async () => {
    const names: string[] = [];
    for await (const item of container.listBlobsFlat()) names.push(item.name);
    return names;
  };
  /** Five entries under two checkpoints of one month, then the month's anchor blob deleted. */
  const twoCheckpointsThenTheirBlobDeleted = async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const services = { store, anchors, secrets, logger } as unknown as Services;
    await logSearches(accessLog, 3);
    await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    await logSearches(accessLog, 2);
    await anchorAt(anchors, '2026-12-01T00:05:00.000Z');
    await container.getBlobClient('checkpoints/2026-12.jsonl').delete();
    return { anchors, services };
  };

  it('raises the alarm instead of signing afresh, and verify names the blob', async () => {
    const { anchors, services } = await twoCheckpointsThenTheirBlobDeleted();
    await logSearches(accessLog, 1);

    const { outcome, warnings } = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:10:00.000Z');
    expect(outcome).toEqual({ checkpoint: undefined, alarm: true });
    expect(warnings).toEqual([
      expect.objectContaining({
        event: 'audit.checkpoint-alarm',
        reason: 'anchor-missing',
        blob: 'checkpoints/2026-12.jsonl',
        treeSize: 5,
      }),
    ]);
    // Nothing signed, so nothing to take the place of what was lost.
    expect(await blobNamesNow()).toEqual([]);

    const report = await verifyLog(services);
    expect(report).toMatchObject({ ok: false, entries: 6, checkpoints: 0, firstBadSeq: 1, signedEntries: 0 });
    expect(report.problems).toEqual([
      { kind: 'anchor-missing', seq: 1, anchor: { blob: 'checkpoints/2026-12.jsonl', checkpoints: 2 } },
    ]);
  });

  it('raises the alarm for a blob written again without its last checkpoint', async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const services = { store, anchors, secrets, logger } as unknown as Services;
    await logSearches(accessLog, 3);
    const first = await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    await logSearches(accessLog, 2);
    await anchorAt(anchors, '2026-12-01T00:05:00.000Z');
    // The blob deleted and its first line written back: a shorter blob under the same name.
    const blob = container.getAppendBlobClient('checkpoints/2026-12.jsonl');
    await blob.delete();
    await blob.create();
    const line = Buffer.from(formatCheckpointLine(first));
    await blob.appendBlock(line, line.byteLength);

    const { outcome, warnings } = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:10:00.000Z');
    expect(outcome).toEqual({ checkpoint: undefined, alarm: true });
    expect(warnings).toEqual([expect.objectContaining({ reason: 'anchor-missing', treeSize: 5 })]);

    const report = await verifyLog(services);
    expect(report).toMatchObject({ ok: false, entries: 5, checkpoints: 1, firstBadSeq: 4, signedEntries: 3 });
    expect(report.problems).toEqual([
      { kind: 'anchor-missing', seq: 4, anchor: { blob: 'checkpoints/2026-12.jsonl', checkpoints: 1 } },
    ]);
  });

  // Written again with every line it held, as a block blob (a copy put back by a storage tool), the
  // blob takes no appends: every checkpointer run failed "The blob type is invalid for this
  // operation", and the entries logged since stayed unsigned for the rest of the month.
  it("goes on signing into the next part when the month's blob was written again as a block blob", async () => {
    const { anchors, services } = await twoCheckpointsThenTheirBlobDeleted();
    const name = 'checkpoints/2026-12.jsonl';
    const recorded = (await anchoredCheckpoints(store)).map(({ checkpoint }) => formatCheckpointLine(checkpoint));
    const text = recorded.join('');
    await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
    await logSearches(accessLog, 1);

    const { outcome, warnings } = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:10:00.000Z');
    expect(outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 6 } });
    expect(warnings).toEqual([]);
    expect((await blobNamesNow()).sort()).toEqual(['checkpoints/2026-12.2.jsonl', name]);
    expect(await verifyLog(services)).toMatchObject({ ok: true, entries: 6, checkpoints: 3, signedEntries: 6 });
  });

  /**
   * The checkpointer held only the newest recorded checkpoint to its blob: an earlier month's blob
   * deleted, or written again without some of its lines, went unnoticed until a verify, and every
   * run went on signing (found by a defect hunt). It now counts each recorded blob's blocks.
   */
  it.each([
    ['deleted', [] as number[], 3],
    ['written again without its second line', [0], 4],
  ])("raises the alarm for an earlier month's blob %s behind a later one", async (_name, kept, missing) => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    await logSearches(accessLog, 3);
    const november = [await anchorAt(anchors, '2026-11-30T23:50:00.000Z')];
    await logSearches(accessLog, 1);
    november.push(await anchorAt(anchors, '2026-11-30T23:55:00.000Z'));
    await logSearches(accessLog, 2);
    await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    const blob = container.getAppendBlobClient('checkpoints/2026-11.jsonl');
    await blob.delete();
    if (kept.length > 0) {
      await blob.create();
      for (const k of kept) {
        const line = Buffer.from(formatCheckpointLine(november[k]!));
        await blob.appendBlock(line, line.byteLength);
      }
    }
    await logSearches(accessLog, 1);

    const { outcome, warnings } = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:05:00.000Z');
    expect(outcome).toEqual({ checkpoint: undefined, alarm: true });
    expect(warnings).toEqual([
      expect.objectContaining({
        event: 'audit.checkpoint-alarm',
        reason: 'anchor-missing',
        blob: 'checkpoints/2026-11.jsonl',
        treeSize: missing,
      }),
    ]);
    expect((await anchors.readAnchored()).checkpoints.map((c) => c.treeSize)).toEqual([
      ...kept.map((k) => november[k]!.treeSize),
      6,
    ]);
  });

  /**
   * Before the container's WORM policy is locked (and locally) the whole container can be deleted:
   * the listing of its blobs is then answered 404, and verify failed with that error (the API's
   * 500) instead of naming the checkpoints lost, and every checkpointer run failed the same way
   * without its alarm (found by a defect hunt).
   */
  it('names every blob lost, and raises the alarm, when the whole anchor container is deleted', async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const services = { store, anchors, secrets, logger } as unknown as Services;
    await logSearches(accessLog, 3);
    await anchorAt(anchors, '2026-11-30T23:55:00.000Z');
    await logSearches(accessLog, 2);
    await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    await container.delete();
    await logSearches(accessLog, 1);

    const report = await verifyLog(services);
    expect(report).toMatchObject({ ok: false, entries: 6, checkpoints: 0, firstBadSeq: 1, signedEntries: 0 });
    expect(report.problems).toEqual([
      { kind: 'anchor-missing', seq: 1, anchor: { blob: 'checkpoints/2026-11.jsonl', checkpoints: 1 } },
      { kind: 'anchor-missing', seq: 4, anchor: { blob: 'checkpoints/2026-12.jsonl', checkpoints: 1 } },
    ]);
    const { outcome, warnings } = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:05:00.000Z');
    expect(outcome).toEqual({ checkpoint: undefined, alarm: true });
    expect(warnings).toEqual([
      expect.objectContaining({ event: 'audit.checkpoint-alarm', reason: 'anchor-missing', treeSize: 5 }),
    ]);
  });

  /**
   * With no checkpoint yet anchored, a deleted container lost nothing: every checkpointer run
   * threw instead, and nothing was signed until a restart created the container again. The
   * container created again has none of the immutability (WORM) policy infra/ set on the old one,
   * and its anchors could be deleted or rewritten until an operator sets it again: nothing said so.
   */
  it('anchors again into a container deleted before it held any checkpoint, and raises the alarm that it has no WORM policy', async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    await logSearches(accessLog, 2);
    await container.delete();

    const { outcome, warnings } = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:00:00.000Z');
    expect(outcome).toMatchObject({
      alarm: false,
      checkpoint: { treeSize: 2 },
      containerCreated: container.containerName,
    });
    expect(warnings).toEqual([
      expect.objectContaining({
        event: 'audit.checkpoint-alarm',
        reason: 'anchor-container-created',
        container: container.containerName,
        action: 're-apply-immutability-policy',
      }),
    ]);
    // Said once, by the run that created it: the next run appends to the container as it is.
    await logSearches(accessLog, 1);
    const next = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:05:00.000Z');
    expect(next.outcome).toEqual({ checkpoint: expect.objectContaining({ treeSize: 3 }), alarm: false });
    expect(next.warnings).toEqual([]);
    expect((await anchors.read()).map((c) => c.treeSize)).toEqual([2, 3]);
    expect(await blobNamesNow()).toEqual(['checkpoints/2026-12.jsonl']);
  });

  /**
   * Proofs were held to the checkpoints the anchors still hold: with the blob deleted, an entry
   * rewritten with its stored hash under the lost checkpoint was proved included, while verify
   * and the checkpointer said the checkpoint was gone (found by a defect hunt).
   */
  it('gives no proof over entries rewritten under a checkpoint lost from its blob', async () => {
    const { services } = await twoCheckpointsThenTheirBlobDeleted();
    expect(await inclusionProofFor(services, 2)).toMatchObject({ seq: 2, treeSize: 5, checkpointed: false });

    await sql`drop trigger access_log_no_update`.execute(store.db);
    const row = await store.db.selectFrom('access_log').selectAll().where('seq', '=', 2).executeTakeFirstOrThrow();
    const forged = { ...fromRow(row), decision: 'deny', reasonCode: 'no-match' };
    await store.db
      .updateTable('access_log')
      .set({ decision: 'deny', reason_code: 'no-match', leaf_hash: leafHash(encodeEntry(forged)) })
      .where('seq', '=', 2)
      .execute();
    expect(await inclusionProofFor(services, 2)).toBe(LOG_INCONSISTENT);
    expect(await inclusionProofFor(services, 2, 4)).toBe(LOG_INCONSISTENT);
    expect(await consistencyProofFor(services, 1, 5)).toBe(LOG_INCONSISTENT);
  });

  it("names an earlier month's blob deleted behind a later one", async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const services = { store, anchors, secrets, logger } as unknown as Services;
    await logSearches(accessLog, 3);
    await anchorAt(anchors, '2026-11-30T23:55:00.000Z');
    await logSearches(accessLog, 2);
    await anchorAt(anchors, '2026-12-01T00:00:00.000Z');
    expect((await verifyLog(services)).ok).toBe(true);
    await container.getBlobClient('checkpoints/2026-11.jsonl').delete();

    const report = await verifyLog(services);
    expect(report).toMatchObject({ ok: false, entries: 5, checkpoints: 1, firstBadSeq: 1, signedEntries: 5 });
    expect(report.problems).toEqual([
      { kind: 'anchor-missing', seq: 1, anchor: { blob: 'checkpoints/2026-11.jsonl', checkpoints: 1 } },
    ]);
  });
});

/**
 * A rotation of audit-signing-key that disables the old versions leaves every checkpoint they
 * signed without a key to check it by. Each was logged as a line the log's keys did not sign, one
 * warning a checkpoint (thousands a month of five-minute checkpoints), and verify reported each as
 * checkpoint-signature, as it does a forged line, until its problem list was full and a real one
 * could no longer be seen (found by a defect hunt). A checkpoint whose version is gone is
 * unverifiable, not forged: it is said once for each version, with how many it signed.
 */
describe('after a rotation of audit-signing-key that disables the old versions', () => {
  let container: ContainerClient;
  let store: Store;
  let accessLog: AccessLog;
  let secrets: LocalSecretSource;

  useFreshAnchors((fresh) => ({ store, accessLog, secrets, container } = fresh));

  it('says each disabled version once, with its checkpoints counted, and verify calls them unverifiable', async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const old = (await currentSigningKey(secrets)).keyId;
    for (const [n, at] of [
      [3, '2026-12-01T00:00:00.000Z'],
      [2, '2026-12-01T00:05:00.000Z'],
      [1, '2026-12-01T00:10:00.000Z'],
    ] as const) {
      await logSearches(accessLog, n);
      await writeCheckpoint({ store, anchors, secrets, logger, now: () => new Date(at) });
    }
    secrets.rotate('audit-signing-key');
    const oldVersion = old.split('/')[1];
    // The old version disabled: Key Vault answers 403 SecretDisabled, read as gone.
    const disabled: SecretSource = {
      get: (name, version) =>
        version === oldVersion ? Promise.reject(new SecretVersionGoneError(name)) : secrets.get(name, version),
    };
    await logSearches(accessLog, 1);

    const { outcome, warnings } = await checkpointWarning(
      { store, anchors, secrets: disabled },
      '2026-12-01T00:15:00.000Z',
    );
    expect(outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 7 } });
    expect(warnings).toEqual([expect.objectContaining({ event: 'audit.anchor-key-gone', keyId: old, checkpoints: 3 })]);
    // The next run reads back no further than the checkpoint of the key in force.
    await logSearches(accessLog, 1);
    const next = await checkpointWarning({ store, anchors, secrets: disabled }, '2026-12-01T00:20:00.000Z');
    expect(next.outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 8 } });
    expect(next.warnings).toEqual([]);

    const report = await verifyLog({ store, anchors, secrets: disabled, logger } as unknown as Services);
    expect(report).toMatchObject({ ok: false, entries: 8, checkpoints: 5, signedEntries: 8 });
    expect(report.problems).toEqual([
      { kind: 'checkpoint-unverifiable', seq: 3, checkpoint: 0, keyId: old, checkpoints: 3 },
    ]);
  });
});

/**
 * With every checkpoint it could check under a version that is gone, the checkpointer signed the
 * whole log afresh without asking whether the log still led to those checkpoints' roots: a rewrite
 * of old entries together with their stored hashes, made before the first run after the rotation,
 * was signed over and nothing said so (found by a review). The checkpoints it anchored itself are
 * in the store's record (anchored_checkpoint) and still in the WORM blob: the log must extend the
 * last of them though its signature can no longer be checked. A line it did not anchor, under a
 * key id no version answers for, is anyone's, and must not stop the signing.
 */
describe('after a rotation that disables the old versions, a rewrite under their checkpoints', () => {
  let container: ContainerClient;
  let store: Store;
  let accessLog: AccessLog;
  let secrets: LocalSecretSource;

  useFreshAnchors((fresh) => ({ store, accessLog, secrets, container } = fresh));

  /**
   * Three checkpoints (of 3, 5 and 6 entries) under the version in force, then a rotation that
   * disables it: the old key id, and the secret store as it answers from then on.
   */
  const anchorThenDisable = async (anchors: AnchorLog) => {
    const old = (await currentSigningKey(secrets)).keyId;
    for (const [n, at] of [
      [3, '2026-12-01T00:00:00.000Z'],
      [2, '2026-12-01T00:05:00.000Z'],
      [1, '2026-12-01T00:10:00.000Z'],
    ] as const) {
      await logSearches(accessLog, n);
      expect(await writeCheckpoint({ store, anchors, secrets, logger, now: () => new Date(at) })).toMatchObject({
        alarm: false,
      });
    }
    secrets.rotate('audit-signing-key');
    const oldVersion = old.split('/')[1];
    const disabled: SecretSource = {
      get: (name, version) =>
        version === oldVersion ? Promise.reject(new SecretVersionGoneError(name)) : secrets.get(name, version),
    };
    return { old, disabled };
  };

  /** An entry rewritten with its stored hash, the append-only trigger dropped: only a checkpoint's root shows it. */
  const rewriteWithItsHash = async (seq: number) => {
    await sql`drop trigger access_log_no_update`.execute(store.db);
    const row = await store.db.selectFrom('access_log').selectAll().where('seq', '=', seq).executeTakeFirstOrThrow();
    const forged = { ...fromRow(row), decision: 'deny' as const, reasonCode: 'no-match' };
    await store.db
      .updateTable('access_log')
      .set({ decision: 'deny', reason_code: 'no-match', leaf_hash: leafHash(encodeEntry(forged)) })
      .where('seq', '=', seq)
      .execute();
  };

  it('raises the alarm instead of signing the rewritten log afresh', async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const { old, disabled } = await anchorThenDisable(anchors);
    await logSearches(accessLog, 1);
    await rewriteWithItsHash(2);

    const { outcome, warnings } = await checkpointWarning(
      { store, anchors, secrets: disabled },
      '2026-12-01T00:15:00.000Z',
    );
    expect(outcome).toEqual({ checkpoint: undefined, alarm: true });
    expect(warnings).toEqual([
      expect.objectContaining({ event: 'audit.anchor-key-gone', keyId: old, checkpoints: 3 }),
      expect.objectContaining({ event: 'audit.checkpoint-alarm', anchoredSize: 6, logSize: 7, keyId: old }),
    ]);
    // Nothing signed over the rewrite: the anchors hold the three old checkpoints only.
    expect((await anchors.readAnchored()).checkpoints.map((c) => c.treeSize)).toEqual([3, 5, 6]);
  });

  /**
   * Verify called such checkpoints unverifiable and left it there, though the log not leading to
   * a root it was recorded having is a rewrite whether or not the signature can be checked.
   */
  it.each([
    [
      'an entry rewritten with its stored hash',
      () => rewriteWithItsHash(2),
      { entries: 6, firstBadSeq: 1 },
      [0, 1, 2].map((checkpoint) => ({ kind: 'checkpoint-mismatch', seq: 1, checkpoint })),
    ],
    [
      'the newest entry removed',
      async () => {
        await sql`drop trigger access_log_no_delete`.execute(store.db);
        await sql`delete from access_log where seq = 6`.execute(store.db);
      },
      { entries: 5, firstBadSeq: 3 },
      [{ kind: 'log-truncated', seq: 6, checkpoint: 2 }],
    ],
  ])('verify reports %s under them as such, beside their being unverifiable', async (_name, tamper, sizes, found) => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const { old, disabled } = await anchorThenDisable(anchors);
    await tamper();

    const report = await verifyLog({ store, anchors, secrets: disabled, logger } as unknown as Services);
    expect(report).toMatchObject({ ok: false, checkpoints: 3, signedEntries: 0, ...sizes });
    expect(report.problems).toEqual([
      { kind: 'checkpoint-unverifiable', seq: 3, checkpoint: 0, keyId: old, checkpoints: 3 },
      ...found,
    ]);
  });

  /**
   * Key Vault answers a version that never was as it answers one disabled by a rotation (404), so
   * a made-up version of the key id's form was taken for a gone one: logged as a version gone and
   * reported unverifiable, where a forged line is unsigned (found by a defect hunt). Only a
   * version the store records having anchored under is gone; any other is a forgery.
   */
  it('signs on past a line under a made-up version that this log did not anchor, and calls it unsigned', async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const { old, disabled } = await anchorThenDisable(anchors);
    const madeUp = 'audit-signing-key/0123456789abcdef';
    const line = Buffer.from(
      formatCheckpointLine(
        signCheckpoint(
          { treeSize: 6, rootHash: 'ab'.repeat(32), time: '2026-12-01T00:12:00.000Z' },
          generateKeyPairSync('ed25519').privateKey,
          madeUp,
        ),
      ),
    );
    await container.getAppendBlobClient('checkpoints/2026-12.jsonl').appendBlock(line, line.byteLength);
    await logSearches(accessLog, 1);

    const { outcome, warnings } = await checkpointWarning(
      { store, anchors, secrets: disabled },
      '2026-12-01T00:15:00.000Z',
    );
    expect(outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 7 } });
    expect(warnings).toEqual([
      expect.objectContaining({ event: 'audit.anchor-line-unsigned', blob: 'checkpoints/2026-12.jsonl', treeSize: 6 }),
      expect.objectContaining({ event: 'audit.anchor-key-gone', keyId: old, checkpoints: 3 }),
    ]);

    // Its root is not the log's, but nothing says the log ever had it: forged, not a rewrite.
    const report = await verifyLog({ store, anchors, secrets: disabled, logger } as unknown as Services);
    expect(report).toMatchObject({ ok: false, entries: 7, checkpoints: 5, signedEntries: 7 });
    expect(report.problems).toEqual([
      { kind: 'checkpoint-unverifiable', seq: 3, checkpoint: 0, keyId: old, checkpoints: 3 },
      { kind: 'checkpoint-signature', seq: 6, checkpoint: 3 },
    ]);
  });
});

/**
 * A version of audit-signing-key is gone (its checkpoints unverifiable, not forged) only where the
 * store records this log anchoring under it (anchored_checkpoint, migration 0032): a version never
 * made is answered as gone too. Checkpoints anchored before that migration have no such record, so
 * a version whose checkpoints were all anchored before it, disabled since, read as forged: a false
 * tamper alarm to the DPO (found by a defect hunt). The checkpointer now records the anchored
 * checkpoints the record predates that a version of the log's key still verifies; a line no
 * version verifies (a made-up one) is never recorded, and stays forged.
 */
describe('checkpoints anchored before the store recorded them, under a version disabled since', () => {
  let container: ContainerClient;
  let store: Store;
  let accessLog: AccessLog;
  let secrets: LocalSecretSource;

  useFreshAnchors((fresh) => ({ store, accessLog, secrets, container } = fresh));

  const appendTo = async (blob: string, cp: Checkpoint) => {
    const client = container.getAppendBlobClient(blob);
    await client.createIfNotExists();
    const line = Buffer.from(formatCheckpointLine(cp));
    await client.appendBlock(line, line.byteLength);
  };
  /** Two checkpoints (of 3 and 5 entries) as the checkpointer anchored them before migration 0032: no record. */
  const anchoredUnrecorded = async (privateKey: string | KeyObject, keyId: string) => {
    for (const [n, time] of [
      [3, '2026-11-30T23:50:00.000Z'],
      [2, '2026-11-30T23:55:00.000Z'],
    ] as const) {
      await logSearches(accessLog, n);
      const treeSize = await logSize(store);
      const rootHash = rootFromLeafHashes(await leafHashes(store, treeSize)).toString('hex');
      await appendTo('checkpoints/2026-11.jsonl', signCheckpoint({ treeSize, rootHash, time }, privateKey, keyId));
    }
  };

  it('calls them unverifiable once a run has read them while the version could still be read; a made-up version stays forged', async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const { keyId: old, privateKey } = await currentSigningKey(secrets);
    await anchoredUnrecorded(privateKey, old);
    const madeUp = 'audit-signing-key/0123456789abcdef';
    await appendTo(
      'checkpoints/2026-11.jsonl',
      signCheckpoint(
        { treeSize: 5, rootHash: 'ab'.repeat(32), time: '2026-11-30T23:56:00.000Z' },
        generateKeyPairSync('ed25519').privateKey,
        madeUp,
      ),
    );

    // A rotation, the old version still enabled; the first run since signs under the new one.
    secrets.rotate('audit-signing-key');
    await logSearches(accessLog, 1);
    const first = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:00:00.000Z');
    expect(first.outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 6 } });
    expect(first.warnings).toEqual([
      expect.objectContaining({ event: 'audit.anchor-line-unsigned', blob: 'checkpoints/2026-11.jsonl', treeSize: 5 }),
    ]);

    // Then the old version disabled.
    const oldVersion = old.split('/')[1];
    const disabled: SecretSource = {
      get: (name, version) =>
        version === oldVersion ? Promise.reject(new SecretVersionGoneError(name)) : secrets.get(name, version),
    };
    await logSearches(accessLog, 1);
    const next = await checkpointWarning({ store, anchors, secrets: disabled }, '2026-12-01T00:05:00.000Z');
    expect(next.outcome).toMatchObject({ alarm: false, checkpoint: { treeSize: 7 } });
    expect(next.warnings).toEqual([]);

    const report = await verifyLog({ store, anchors, secrets: disabled, logger } as unknown as Services);
    expect(report).toMatchObject({ ok: false, entries: 7, checkpoints: 5, signedEntries: 7 });
    expect(report.problems).toEqual([
      { kind: 'checkpoint-unverifiable', seq: 3, checkpoint: 0, keyId: old, checkpoints: 2 },
      { kind: 'checkpoint-signature', seq: 5, checkpoint: 2 },
    ]);

    // Recorded, they are held to their blob as every recorded checkpoint is.
    await container.getBlobClient('checkpoints/2026-11.jsonl').delete();
    const after = await checkpointWarning({ store, anchors, secrets: disabled }, '2026-12-01T00:10:00.000Z');
    expect(after.outcome).toEqual({ checkpoint: undefined, alarm: true });
    expect(after.warnings).toEqual([
      expect.objectContaining({ reason: 'anchor-missing', blob: 'checkpoints/2026-11.jsonl', treeSize: 3 }),
    ]);
  });

  it('reads them in the blob the record starts in, before its first recorded line', async () => {
    const anchors = new AnchorLog(blobs, { container: container.containerName });
    const { keyId: old, privateKey } = await currentSigningKey(secrets);
    await anchoredUnrecorded(privateKey, old);
    // Rotated, and the first checkpoint under the new version anchored and recorded in the same
    // blob, as the checkpointer has done since migration 0032.
    secrets.rotate('audit-signing-key');
    const current = await currentSigningKey(secrets);
    await logSearches(accessLog, 1);
    const recordedFirst = signCheckpoint(
      {
        treeSize: 6,
        rootHash: rootFromLeafHashes(await leafHashes(store, 6)).toString('hex'),
        time: '2026-11-30T23:58:00.000Z',
      },
      current.privateKey,
      current.keyId,
    );
    await appendTo('checkpoints/2026-11.jsonl', recordedFirst);
    await recordAnchoredCheckpoint(store, { blob: 'checkpoints/2026-11.jsonl', checkpoint: recordedFirst });

    await logSearches(accessLog, 1);
    const first = await checkpointWarning({ store, anchors, secrets }, '2026-12-01T00:00:00.000Z');
    expect(first).toMatchObject({ outcome: { alarm: false, checkpoint: { treeSize: 7 } }, warnings: [] });
    const oldVersion = old.split('/')[1];
    const disabled: SecretSource = {
      get: (name, version) =>
        version === oldVersion ? Promise.reject(new SecretVersionGoneError(name)) : secrets.get(name, version),
    };
    const report = await verifyLog({ store, anchors, secrets: disabled, logger } as unknown as Services);
    expect(report).toMatchObject({ ok: false, entries: 7, checkpoints: 4, signedEntries: 7 });
    expect(report.problems).toEqual([
      { kind: 'checkpoint-unverifiable', seq: 3, checkpoint: 0, keyId: old, checkpoints: 2 },
    ]);
    // Each recorded once: the record's own line is not taken again.
    expect((await anchoredCheckpoints(store)).map(({ checkpoint }) => checkpoint.treeSize)).toEqual([3, 5, 6, 7]);
  });
});

/**
 * A container under a locked time-based policy with protected appends, as infra deploys
 * `audit-anchors`: Append Block is allowed, a Put Blob over a blob that exists is not. Azurite
 * has no immutability policies, so a real HTTP proxy in front of it answers a create of a blob
 * that exists as such a container may (409 BlobImmutableDueToPolicy, not BlobAlreadyExists).
 */
describe('an anchor container under a WORM policy', () => {
  let store: Store;
  let accessLog: AccessLog;
  let secrets: LocalSecretSource;
  let container: ContainerClient;
  let proxy: Server;
  let wormBlobs: BlobServiceClient;

  useFreshAnchors((fresh) => ({ store, accessLog, secrets, container } = fresh));

  beforeEach(async () => {
    const azurite = new URL(blobs.url);
    proxy = createServer((req, res) => {
      const upstream = httpRequest(
        { host: azurite.hostname, port: azurite.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          const code = answer.headers['x-ms-error-code'];
          if (answer.statusCode === 409 && code === 'BlobAlreadyExists') {
            answer.resume();
            const body =
              '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobImmutableDueToPolicy</Code>' +
              '<Message>This operation is not permitted as the blob is immutable due to a policy.</Message></Error>';
            res.writeHead(409, { 'content-type': 'application/xml', 'x-ms-error-code': 'BlobImmutableDueToPolicy' });
            res.end(body);
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as AddressInfo;
    wormBlobs = BlobServiceClient.fromConnectionString(
      inject('azuriteConnectionString').replace(
        /BlobEndpoint=http:\/\/[^/;]+/,
        `BlobEndpoint=http://127.0.0.1:${port}`,
      ),
    );
  });
  afterEach(async () => {
    await new Promise((resolve) => proxy.close(resolve));
  });

  it("keeps appending to the month's blob once it exists", async () => {
    const anchors = new AnchorLog(wormBlobs, { container: container.containerName });
    for (const [i, time] of [
      '2026-12-01T09:00:00.000Z',
      '2026-12-01T09:05:00.000Z',
      '2026-12-01T09:10:00.000Z',
    ].entries()) {
      await logSearches(accessLog, 1);
      const outcome = await writeCheckpoint({ store, anchors, secrets, logger, now: () => new Date(time) });
      expect(outcome.alarm).toBe(false);
      expect(outcome.checkpoint?.treeSize).toBe(i + 1);
    }
    expect((await anchors.read()).map((c) => c.treeSize)).toEqual([1, 2, 3]);
  });
});
