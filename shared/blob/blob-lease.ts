import type { BlobLeaseClient, ContainerClient } from '@azure/storage-blob';
import { hasErrorCode } from './blob-storage.js';

/**
 * Seconds a lease lasts unrenewed: the longest finite lease Blob Storage grants, so a holder whose
 * process dies (no finally runs to release it) keeps others out for a minute at most.
 */
export const LEASE_SECONDS = 60;
/** Renewed well inside its minute, so one slow renewal does not let it lapse. */
const RENEW_EVERY_MS = 15_000;

/** A lease held on a lock blob: one holder at a time, across processes and hosts. */
export interface HeldLease {
  /**
   * Renews the lease now, or throws if it was lost (it lapsed, or was broken and taken by
   * another): called before a write that must not race another holder, which then has the
   * lease's full minute to finish.
   */
  confirm(): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes the lease on `container`'s blob `name`, created empty for it, renewing it in the
 * background until released, when the blob is deleted (the container keeps nothing of a lock no
 * one holds); undefined when another holder has it. A blob lease rather than a store lock: what
 * it guards is mostly blob writes outside any SQL transaction, and SQLite has no lock another
 * process could see.
 */
export async function takeBlobLease(container: ContainerClient, name: string): Promise<HeldLease | undefined> {
  const blob = container.getBlockBlobClient(name);
  const lease: BlobLeaseClient = blob.getBlobLeaseClient();
  // A holder may delete the blob as it releases, between this run's create and its acquire.
  for (let attempt = 1; ; attempt++) {
    try {
      await blob.upload(Buffer.alloc(0), 0, { conditions: { ifNoneMatch: '*' } });
    } catch (err) {
      // Already there (leased by another, 412): the acquire says whether it is free.
      const status = (err as { statusCode?: unknown } | null)?.statusCode;
      if (status !== 409 && status !== 412) throw err;
    }
    try {
      await lease.acquireLease(LEASE_SECONDS);
      break;
    } catch (err) {
      if (hasErrorCode(err, 409, 'LeaseAlreadyPresent')) return undefined;
      if (!hasErrorCode(err, 404, 'BlobNotFound') || attempt === 3) throw err;
    }
  }
  const timer = setInterval(() => {
    lease.renewLease().catch((err: unknown) => {
      // Taken by another, broken or the blob gone: renewing again will not get it back. A
      // network error may pass: confirm() renews again before anything that matters.
      const status = (err as { statusCode?: unknown } | null)?.statusCode;
      if (status === 404 || status === 409 || status === 412) clearInterval(timer);
    });
  }, RENEW_EVERY_MS);
  // A lease renewing in the background is no reason to keep a CLI's process alive.
  timer.unref();
  return {
    async confirm() {
      try {
        await lease.renewLease();
      } catch (err) {
        throw new LeaseLostError(name, err);
      }
    },
    async release() {
      clearInterval(timer);
      // A lease already lost is not ours to release, nor the blob ours to delete: another
      // holder's, or left to the next taker.
      await blob.delete({ conditions: { leaseId: lease.leaseId } }).catch(() => undefined);
    },
  };
}

/** The lease was lost while held: another holder may be writing what it guards. */
export class LeaseLostError extends Error {
  constructor(
    readonly blobName: string,
    cause: unknown,
  ) {
    super('The lease on a lock blob was lost while held', { cause });
    this.name = 'LeaseLostError';
  }
}
