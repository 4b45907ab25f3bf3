import type { BlobServiceClient } from '@azure/storage-blob';
import { MANIFEST_FILE } from '../../../shared/curated/curated-export.js';
import type { Store } from '../../../shared/store/database.js';
import { nhs } from '../../support/linked-people.js';
import type { ImportHarness } from '../imports/import-harness.js';

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
 * settles, or notes the write). Everything else is the real client's.
 */
export function overBlockBlobs(
  blobs: BlobServiceClient,
  open: (blob: string, real: () => unknown) => unknown,
): BlobServiceClient {
  return new Proxy(blobs, {
    get(target, prop, recv) {
      if (prop !== 'getContainerClient') return Reflect.get(target, prop, recv) as unknown;
      return (name: string) => {
        const c = target.getContainerClient(name);
        return new Proxy(c, {
          get(ct, p, r) {
            if (p !== 'getBlockBlobClient') {
              const v = Reflect.get(ct, p, r) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(ct) : v;
            }
            return (blob: string) => open(blob, () => ct.getBlockBlobClient(blob));
          },
        });
      };
    },
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
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const db = new Proxy(h.store.db, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv) as unknown;
      if (prop !== 'transaction' || !armed) return typeof v === 'function' ? (v as () => unknown).bind(target) : v;
      reach();
      return () => ({
        execute: async (work: Parameters<ReturnType<typeof target.transaction>['execute']>[0]) => {
          await held;
          return target.transaction().execute(work);
        },
      });
    },
  });
  const store = new Proxy(h.store, {
    get: (target, prop, recv) => (prop === 'db' ? db : (Reflect.get(target, prop, recv) as unknown)),
  });
  return { blobs, store, reached };
}
