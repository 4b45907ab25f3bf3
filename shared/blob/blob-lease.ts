import type { BlobLeaseClient, ContainerClient } from '@azure/storage-blob';
import { hasErrorCode, statusCodeOf } from './blob-storage.js';

/**
 * Seconds a lease lasts unrenewed: the longest finite lease Blob Storage grants, so a holder whose
 * process dies (no finally runs to release it) keeps others out for a minute at most.
 */
export const LEASE_SECONDS = 60;
/** The shortest lease Blob Storage grants: what a test may ask for, to see a lease lapse or outlast it. */
const SHORTEST_LEASE_SECONDS = 15;
/** The pauses between confirm's renewals that got no answer: short, as a write waits on them. */
const CONFIRM_FIRST_RETRY_MS = 250;
const CONFIRM_LONGEST_RETRY_MS = 2000;

export interface BlobLeaseOptions {
  /** Seconds the lease lasts unrenewed (15 to 60); LEASE_SECONDS unless a test wants it shorter. */
  readonly leaseSeconds?: number;
  /** Called once, when the lease is first known lost (a renewal refused, or none for its whole term). */
  readonly onLost?: (err: LeaseLostError) => void;
}

/** A lease held on a lock blob: one holder at a time, across processes and hosts. */
export interface HeldLease {
  /**
   * Renews the lease now, or throws LeaseLostError if it was lost (a renewal refused, or none
   * answered for its whole term: it lapsed, or was broken and taken by another), asking again
   * meanwhile: called before a write that must not race another holder, which then has the
   * lease's full term to finish.
   */
  confirm(): Promise<void>;
  /**
   * Aborted once the lease is known lost, its reason a LeaseLostError: given to a write already
   * on its way, so it does not land over what the next holder writes.
   */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/**
 * Takes the lease on `container`'s blob `name`, created empty for it, renewing it in the
 * background (four times a term, so one slow renewal does not let it lapse) until released, when
 * the blob is deleted (the container keeps nothing of a lock no one holds); undefined when
 * another holder has it. A blob lease rather than a store lock: what it guards is mostly blob
 * writes outside any SQL transaction, and SQLite has no lock another process could see.
 */
export async function takeBlobLease(
  container: ContainerClient,
  name: string,
  options: BlobLeaseOptions = {},
): Promise<HeldLease | undefined> {
  const leaseSeconds = Math.min(LEASE_SECONDS, Math.max(SHORTEST_LEASE_SECONDS, options.leaseSeconds ?? LEASE_SECONDS));
  const blob = container.getBlockBlobClient(name);
  const lease: BlobLeaseClient = blob.getBlobLeaseClient();
  // A holder may delete the blob as it releases, between this run's create and its acquire.
  for (let attempt = 1; ; attempt++) {
    try {
      await blob.upload(Buffer.alloc(0), 0, { conditions: { ifNoneMatch: '*' } });
    } catch (err) {
      // Already there (leased by another, 412): the acquire says whether it is free.
      const status = statusCodeOf(err);
      if (status !== 409 && status !== 412) throw err;
    }
    try {
      await lease.acquireLease(leaseSeconds);
      break;
    } catch (err) {
      if (hasErrorCode(err, 404, 'BlobNotFound') && attempt < 3) continue;
      if (hasErrorCode(err, 409, 'LeaseAlreadyPresent')) return undefined;
      throw err;
    }
  }
  const aborter = new AbortController();
  // When the lease was last known ours: a term after it, another may hold it.
  let renewedAt = Date.now();
  const lost = (cause: unknown): LeaseLostError => {
    if (!aborter.signal.aborted) {
      clearInterval(timer);
      const err = new LeaseLostError(name, cause);
      aborter.abort(err);
      options.onLost?.(err);
    }
    return aborter.signal.reason as LeaseLostError;
  };
  const renew = async () => {
    if (aborter.signal.aborted) throw aborter.signal.reason as LeaseLostError;
    const asked = Date.now();
    try {
      // The SDK sets no client-side timeout: a renewal the service went quiet on would wait for
      // ever, never failing, so the lease was never called lost and the run hung. Cut off at the
      // end of the term, it fails with no status, and the term having passed, the lease is lost.
      const termLeft = Math.max(1, renewedAt + leaseSeconds * 1000 - asked);
      await lease.renewLease({ abortSignal: AbortSignal.timeout(termLeft) });
      renewedAt = asked;
    } catch (err) {
      // Taken by another, broken or the blob gone: renewing again will not get it back. Any
      // other failure (the network) leaves it ours until its term since the last renewal ends.
      const status = statusCodeOf(err);
      if (status === 404 || status === 409 || status === 412 || Date.now() - renewedAt >= leaseSeconds * 1000)
        throw lost(err);
      throw err;
    }
  };
  const timer = setInterval(() => renew().catch(() => undefined), (leaseSeconds * 1000) / 4);
  // A lease renewing in the background is no reason to keep a CLI's process alive.
  timer.unref();
  return {
    signal: aborter.signal,
    async confirm() {
      // A renewal the service did not refuse (no answer: a reset, a timeout) leaves the lease
      // ours while its term lasts, so it is asked again until one is answered or the term ends
      // (renew then calls it lost): stopping at the first would stop a run no one else can take over.
      for (let wait = CONFIRM_FIRST_RETRY_MS; ; wait = Math.min(wait * 2, CONFIRM_LONGEST_RETRY_MS)) {
        try {
          await renew();
          return;
        } catch (err) {
          if (err instanceof LeaseLostError) throw err;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    },
    async release() {
      clearInterval(timer);
      // A lease already lost is not ours to release, nor the blob ours to delete: another
      // holder's, or left to the next taker.
      if (aborter.signal.aborted) return;
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
