import type { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, expect } from 'vitest';
import {
  COUNTS_FILE,
  EXPORT_LOCK_BLOB,
  exportCurated,
  healCurated,
  MANIFEST_FILE,
  type CuratedExportDependencies,
  type CuratedExportRun,
} from '../../../shared/curated/curated-export.js';
import { linkPendingRecords } from '../../../shared/linkage/pending-links.js';
import type { Store } from '../../../shared/store/database.js';
import { importEach, nhs } from '../../support/linked-people.js';
import { createImportHarness, type ImportHarness } from '../imports/import-harness.js';

/** The ISA's indicators, exported to la-housing for service planning: the target the failed and concurrent export tests run. */
export const DATASET = 'multiple-disadvantage-indicators';
export const FOLDER = `la-housing/service-planning/${DATASET}/`;

const family = (i: number) =>
  `Family${String.fromCharCode(97 + Math.floor(i / 26))}${String.fromCharCode(97 + (i % 26))}`;

/** Housing's extract of `n` children in temporary accommodation, NHS numbers from `firstNhs` on. */
export function housing(n: number, firstNhs: number): string[] {
  return [
    'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender,inTemporaryAccommodation',
    ...Array.from({ length: n }, (_, i) =>
      ['Alex', family(i), '2010-01-01', 'ME14 1XX', nhs(firstNhs + i), i % 2 ? 'Female' : 'Male', 'Y'].join(','),
    ),
  ];
}

/**
 * A blob client whose block blobs the export opens go through `open`: given the blob's name and
 * the real client's opener, it returns the client the export gets (one that fails, never
 * settles, or notes the write). Everything else is the real client's. With `opener`
 * `getBlobClient`, the plain blob clients it opens (to read or delete) instead.
 */
export function overBlockBlobs(
  blobs: BlobServiceClient,
  open: (blob: string, real: () => unknown) => unknown,
  opener: 'getBlockBlobClient' | 'getBlobClient' = 'getBlockBlobClient',
): BlobServiceClient {
  return new Proxy(blobs, {
    get(target, prop, recv) {
      if (prop !== 'getContainerClient') return Reflect.get(target, prop, recv) as unknown;
      return (name: string) => {
        const c = target.getContainerClient(name);
        return new Proxy(c, {
          get(ct, p, r) {
            if (p !== opener) {
              const v = Reflect.get(ct, p, r) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(ct) : v;
            }
            return (blob: string) => open(blob, () => ct[opener](blob));
          },
        });
      };
    },
  });
}

type Renew = (...args: unknown[]) => Promise<unknown>;

/**
 * `blobs` as the export gets it, its renewals of the export lock's lease going through `renew`:
 * given which renewal of the run it is (1 for the first) and the real renewal.
 */
export function renewingThrough(
  blobs: BlobServiceClient,
  renew: (n: number, real: Renew, options: { abortSignal?: AbortSignal } | undefined) => Promise<unknown>,
) {
  let renewals = 0;
  return overBlockBlobs(blobs, (blob, real) => {
    const client = real() as { getBlobLeaseClient: (...args: unknown[]) => Record<string, unknown> };
    if (blob !== EXPORT_LOCK_BLOB) return client;
    return new Proxy(client, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv) as unknown;
        if (prop !== 'getBlobLeaseClient') return typeof v === 'function' ? (v as Renew).bind(target) : v;
        return (...args: unknown[]) => {
          const lease = target.getBlobLeaseClient(...args);
          return new Proxy(lease, {
            get(lt, p, r) {
              const lv = Reflect.get(lt, p, r) as unknown;
              if (typeof lv !== 'function') return lv;
              if (p !== 'renewLease') return (lv as Renew).bind(lt);
              return (...a: unknown[]) =>
                renew(
                  ++renewals,
                  (...b: unknown[]) => (lv as Renew).apply(lt, b.length ? b : a),
                  a[0] as { abortSignal?: AbortSignal } | undefined,
                );
            },
          });
        };
      },
    });
  });
}

/**
 * A run's blob client and store, over which it writes its dated folder and latest/ and is held as
 * it opens the SQL release's transaction until `held` settles (never, for a process that died
 * there). `reached` settles once the run has got that far.
 */
export function heldAtReleaseTransaction(
  h: ImportHarness,
  held: Promise<void>,
): { blobs: BlobServiceClient; store: Store; reached: Promise<void> } {
  let armed = false;
  const blobs = overBlockBlobs(h.blobs, (blob, real) => {
    if (blob === `${FOLDER}latest/${MANIFEST_FILE}`) armed = true;
    return real();
  });
  return { blobs, ...storeHoldingTransactions(h.store, () => armed, held) };
}

/**
 * `store` with each transaction it opens while `holds()` says so (asked as it is opened) held until
 * `held` settles: `reached` settles once the first is.
 */
export function storeHoldingTransactions(
  real: Store,
  holds: () => boolean,
  held: Promise<void>,
): { store: Store; reached: Promise<void> } {
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const db = new Proxy(real.db, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (prop !== 'transaction' || !holds()) return typeof v === 'function' ? (v as () => unknown).bind(target) : v;
      reach();
      return () => ({
        execute: async (work: Parameters<ReturnType<typeof target.transaction>['execute']>[0]) => {
          await held;
          return target.transaction().execute(work);
        },
      });
    },
  });
  const store = new Proxy(real, {
    get: (target, prop, recv) => (prop === 'db' ? db : (Reflect.get(target, prop, recv) as unknown)),
  });
  return { store, reached };
}

/** The harness's store, `began` settling once a run on it first opens a transaction. */
export function storeNotingTransactions(h: ImportHarness): { store: Store; began: Promise<void> } {
  let begin!: () => void;
  const began = new Promise<void>((resolve) => (begin = resolve));
  const db = new Proxy(h.store.db, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (prop === 'transaction') begin();
      return typeof v === 'function' ? (v as () => unknown).bind(target) : v;
    },
  });
  const store = new Proxy(h.store, {
    get: (target, prop, recv) => (prop === 'db' ? db : (Reflect.get(target, prop, recv) as unknown)),
  });
  return { store, began };
}

/** Housing's extract `rows` imported and linked: the children the next export counts. */
export async function importHousing(h: ImportHarness, rows: string[]): Promise<void> {
  await importEach(h, [['la-housing', rows]]);
  await linkPendingRecords(h.linkDeps());
}

/**
 * A harness with a curated container of its own, Housing's extract `rows` imported and linked when
 * given. Closed here when the set-up fails, as the caller's afterAll never sees it then.
 */
export async function curatedHarness(rows?: string[]): Promise<{ h: ImportHarness; container: string }> {
  const h = await createImportHarness();
  try {
    const container = await h.exportContainer();
    if (rows !== undefined) await importHousing(h, rows);
    return { h, container };
  } catch (err) {
    await h.close();
    throw err;
  }
}

/** Every blob of the container with its ETag: what a run wrote, deleted or put back changes it. */
export async function blobsWithEtags(h: ImportHarness, container: string): Promise<Record<string, string>> {
  const all: Record<string, string> = {};
  for await (const b of h.blobs.getContainerClient(container).listBlobsFlat()) all[b.name] = b.properties.etag ?? '';
  return all;
}

/** The releases the SQL view is built on, oldest first. */
export function releasesInView(h: ImportHarness) {
  return h.store.db
    .selectFrom('curated_release')
    .select(['generated_at', 'counts_sha256'])
    .orderBy('generated_at')
    .execute();
}

/**
 * The export lock's lease ends now: as it lapses a minute after a dead run's process stopped
 * renewing it, or as a run's does when its renewals stop reaching the service.
 */
export function breakExportLease(h: ImportHarness, container: string) {
  return h.blobs.getContainerClient(container).getBlobClient(EXPORT_LOCK_BLOB).getBlobLeaseClient().breakLease(0);
}

/**
 * An export run at `at` that writes its dated folder and latest/ and is held as it opens its SQL
 * release's transaction; settles once it is held there. `letGo` lets the transaction go on, `fail`
 * makes it fail; calling neither leaves the run as a process that died there.
 */
export async function startHeldRun(
  h: ImportHarness,
  container: string,
  at: string,
  o: Partial<CuratedExportDependencies> = {},
): Promise<{ run: Promise<CuratedExportRun>; letGo: () => void; fail: (err: Error) => void }> {
  let letGo!: () => void;
  let fail!: (err: Error) => void;
  const held = new Promise<void>((resolve, reject) => {
    letGo = resolve;
    fail = reject;
  });
  const { blobs, store, reached } = heldAtReleaseTransaction(h, held);
  const run = exportCurated(h.exportDeps(container, { ...o, blobs, store, now: () => new Date(at) }));
  await reached;
  return { run, letGo, fail };
}

/** A run at `at` that cannot count (Key Vault briefly out): all it does is heal what a dead run left. */
export async function runThatCannotCount(h: ImportHarness, container: string, at: string): Promise<void> {
  const vaultOut = { get: () => Promise.reject(new Error('vault unreachable')) };
  await expect(exportCurated(h.exportDeps(container, { secrets: vaultOut, now: () => new Date(at) }))).rejects.toThrow(
    /vault unreachable/,
  );
}

/**
 * A harness whose Housing extract (NHS numbers from `firstNhs`) has been exported on 1 November and
 * 1 December (under the harness's minimum, 10), and what the target's releases hold in the SQL
 * view and the curated container. `heal` and `exportUnder` run at `at` with `overrides` (the
 * agreements re-signed, another minimum).
 */
export function exportedTwice(firstNhs: number) {
  const state = {} as { h: ImportHarness; container: string };
  beforeAll(async () => {
    Object.assign(state, await curatedHarness(housing(40, firstNhs)));
    for (const at of ['2026-11-01T06:00:00.000Z', '2026-12-01T06:00:00.000Z'])
      await exportCurated(state.h.exportDeps(state.container, { now: () => new Date(at) }));
  });
  afterAll(() => state.h?.close());
  const releaseFiles = async () => {
    const names: string[] = [];
    for await (const b of state.h.blobs.getContainerClient(state.container).listBlobsFlat({ prefix: FOLDER }))
      names.push(b.name.slice(FOLDER.length));
    return names.sort();
  };
  const depsAt = (at: string, overrides: Partial<CuratedExportDependencies>) =>
    state.h.exportDeps(state.container, { ...overrides, now: () => new Date(at) });
  return {
    state,
    releaseFiles,
    /** The measure and category of every line the SQL view shows. */
    linesInView: async () =>
      (
        await state.h.store.db
          .selectFrom('curated_indicator_counts')
          .select(['measure', 'category'])
          .distinct()
          .execute()
      ).map((r) => `${r.measure},${r.category}`),
    /** The folders (latest/, dated) whose counts CSV holds a line of `measure` (and `category`, given). */
    foldersCounting: async (measure: string, category = '') => {
      const curated = state.h.blobs.getContainerClient(state.container);
      const folders: string[] = [];
      for (const name of await releaseFiles()) {
        if (!name.endsWith(`/${COUNTS_FILE}`)) continue;
        const csv = (await curated.getBlobClient(`${FOLDER}${name}`).downloadToBuffer()).toString('utf8');
        if (csv.includes(`,${measure},${category}`)) folders.push(name.split('/')[0]!);
      }
      return folders;
    },
    heal: (at: string, overrides: Partial<CuratedExportDependencies> = {}) => healCurated(depsAt(at, overrides)),
    exportUnder: (at: string, overrides: Partial<CuratedExportDependencies> = {}) =>
      exportCurated(depsAt(at, overrides)),
  };
}
