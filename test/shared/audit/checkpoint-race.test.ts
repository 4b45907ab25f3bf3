import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { AccessLog } from '../../../shared/audit/access-log.js';
import { AnchorLog, type Anchored } from '../../../shared/audit/anchor-log.js';
import { anchoredCheckpoints, anchoredCountsByBlob } from '../../../shared/audit/anchored-checkpoints.js';
import type { Checkpoint } from '../../../shared/audit/checkpoint.js';
import { writeCheckpoint } from '../../../shared/audit/checkpointer.js';
import { publicKeysFor } from '../../../shared/audit/signing-keys.js';
import { verifyAccessLog } from '../../../shared/audit/verify-log.js';
import { createLogger } from '../../../shared/logging.js';
import { LocalSecretSource } from '../../../shared/secrets/local-secret-source.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';

describe('two checkpoint runs (the timer + `npm run audit -- checkpoint`): at once, or on clocks apart', () => {
  const blobs = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
  const logger = createLogger('error');
  const containerName = `anchors-${randomUUID().slice(0, 8)}`;
  let store: Store;
  let log: AccessLog;
  let secrets: LocalSecretSource;
  let n = 0;
  const entries = async (k: number) => {
    for (let i = 0; i < k; i++)
      await log.append({
        requestId: `req-${++n}`,
        partyId: 'kettering-borough-council',
        clientId: 'client',
        roles: ['housing-officer'],
        purpose: 'housing-allocation',
        action: 'person.search',
        subjectRef: `person-${n % 5}`,
        datasets: ['keyways-housing-register'],
        fields: ['keyways-housing-register.firstName'],
        decision: 'allow',
        reasonCode: 'granted',
      });
  };

  beforeEach(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lintel-race-'));
    store = openStore({ engine: 'sqlite', path: join(dir, 'log.db') });
    await migrateToLatest(store);
    log = new AccessLog(store, logger);
    secrets = new LocalSecretSource(join(dir, 'secrets.json'));
    await blobs.getContainerClient(containerName).createIfNotExists();
  });
  afterEach(async () => {
    await log.close();
    await store.close();
    await blobs.getContainerClient(containerName).deleteIfExists();
  });

  it('an untampered log still verifies after two overlapping checkpoint runs', async () => {
    const anchors = new AnchorLog(blobs, { container: containerName });
    await entries(10);
    // Run A (the timer): the signing key's fetch from Key Vault is slow this time.
    let reached!: () => void;
    const atKeyFetch = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowSecrets = {
      get: async (...args: Parameters<SecretSource['get']>) => {
        reached();
        await gate;
        return secrets.get(...args);
      },
    } as SecretSource;
    const a = writeCheckpoint({ store, anchors, secrets: slowSecrets, logger });
    await atKeyFetch; // A has read the tree: 10 entries
    await entries(5);
    // Run B (the CLI) meanwhile: signs and anchors 15 entries.
    const b = await writeCheckpoint({ store, anchors, secrets, logger });
    expect(b).toMatchObject({ alarm: false, checkpoint: { treeSize: 15 } });
    release();
    // A finds B's checkpoint anchored since its read, and stands down: anchored after B's, its
    // smaller one would read as a rollback for ever (found by a review).
    expect(await a).toEqual({ alarm: false, checkpoint: undefined });

    const checkpoints = await anchors.read();
    expect(checkpoints.map((c) => c.treeSize)).toEqual([15]);
    const keys = await publicKeysFor(
      secrets,
      checkpoints.map((c) => c.keyId),
    );
    const report = await verifyAccessLog(store, checkpoints, keys);
    // Nothing was tampered with: verify passes.
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('an untampered log still verifies when the next checkpoint is signed by a host a second behind, across a month end', async () => {
    const anchors = new AnchorLog(blobs, { container: containerName });
    await entries(10);
    // The timer host's clock is already in January...
    const first = await writeCheckpoint({
      store,
      anchors,
      secrets,
      logger,
      now: () => new Date('2027-01-01T00:00:00.500Z'),
    });
    expect(first.checkpoint?.treeSize).toBe(10);
    await entries(5);
    // ...the operator's `npm run audit -- checkpoint` a second later runs on a machine a few seconds behind.
    const second = await writeCheckpoint({
      store,
      anchors,
      secrets,
      logger,
      now: () => new Date('2026-12-31T23:59:58.000Z'),
    });
    expect(second.alarm).toBe(false);

    const checkpoints = await anchors.read();
    const keys = await publicKeysFor(
      secrets,
      checkpoints.map((c) => c.keyId),
    );
    const report = await verifyAccessLog(store, checkpoints, keys);
    // Nothing was tampered with: verify must not report the log as truncated / regressed.
    expect(report.problems, 'untampered log reported as tampered').toEqual([]);
    expect(report.ok).toBe(true);
    expect(second).toEqual({ checkpoint: undefined, alarm: false, clockBehind: true });

    // Once the clock has passed the last checkpoint's time, the next run signs the entries.
    const third = await writeCheckpoint({
      store,
      anchors,
      secrets,
      logger,
      now: () => new Date('2027-01-01T00:05:00.000Z'),
    });
    expect(third.checkpoint?.treeSize).toBe(15);
    expect((await anchors.read()).map((c) => c.treeSize)).toEqual([10, 15]);
  });

  it('a checkpoint is never dated before the checkpoint it extends', async () => {
    const anchors = new AnchorLog(blobs, { container: containerName });
    await entries(3);
    await writeCheckpoint({ store, anchors, secrets, logger, now: () => new Date('2026-12-03T10:00:05.000Z') });
    await entries(2);
    await writeCheckpoint({ store, anchors, secrets, logger, now: () => new Date('2026-12-03T10:00:01.000Z') });
    const checkpoints = await anchors.read();
    for (let i = 1; i < checkpoints.length; i++) {
      expect(checkpoints[i]!.time >= checkpoints[i - 1]!.time, `checkpoint #${i} dated before #${i - 1}`).toBe(true);
    }
  });
  it('a checkpoint anchored by one run and recorded by both (the other just started) counts once', async () => {
    // Run B (the CLI) anchors a checkpoint and is held before recording it, as a slow store would.
    let appended!: (blob: string) => void;
    const afterAppend = new Promise<string>((r) => (appended = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    class HeldAfterAppend extends AnchorLog {
      override async append(checkpoint: Checkpoint): Promise<Anchored> {
        const anchored = await super.append(checkpoint);
        appended(anchored.blob);
        await gate;
        return anchored;
      }
    }
    await entries(3);
    const b = writeCheckpoint({
      store,
      anchors: new HeldAfterAppend(blobs, { container: containerName }),
      secrets,
      logger,
      now: () => new Date('2026-11-30T23:55:00.000Z'),
    });
    const november = await afterAppend;
    // Run A (the timer, its process just started): the store records no checkpoint yet, so its
    // first run reads every blob for the checkpoints the record predates (migration 0032), finds
    // B's line and records it; then B records it too.
    const timer = new AnchorLog(blobs, { container: containerName });
    expect(await writeCheckpoint({ store, anchors: timer, secrets, logger })).toEqual({
      checkpoint: undefined,
      alarm: false,
    });
    release();
    expect(await b).toMatchObject({ alarm: false, checkpoint: { treeSize: 3 } });

    // One line in November's blob, one checkpoint recorded there: not more than the blob holds...
    expect(await anchoredCountsByBlob(store)).toEqual(new Map([[november, 1]]));
    expect((await anchoredCheckpoints(store)).map(({ checkpoint }) => checkpoint.treeSize)).toEqual([3]);
    // ...so once December's first checkpoint is anchored, the runs after it do not download
    // November's blob, every five minutes, to look for a line it holds.
    const december = (time: string) =>
      writeCheckpoint({ store, anchors: timer, secrets, logger, now: () => new Date(time) });
    await entries(1);
    expect(await december('2026-12-01T00:00:00.000Z')).toMatchObject({ alarm: false, checkpoint: { treeSize: 4 } });
    const firstMissing = vi.spyOn(timer, 'firstMissing');
    await entries(1);
    expect(await december('2026-12-01T00:05:00.000Z')).toMatchObject({ alarm: false, checkpoint: { treeSize: 5 } });
    expect(firstMissing.mock.calls.map(([blob]) => blob)).not.toContain(november);

    // And November's blob deleted, verify says it lost the one checkpoint it held, not two.
    await blobs.getContainerClient(containerName).getBlobClient(november).delete();
    const report = await verifyAccessLog(store, await timer.read(), new Map());
    expect(report.problems).toContainEqual({
      kind: 'anchor-missing',
      seq: 1,
      anchor: { blob: november, checkpoints: 1 },
    });
  });
});
