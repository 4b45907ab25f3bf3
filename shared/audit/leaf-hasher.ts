/**
 * Leaf hashing and Merkle tree building for a full-log verification, on a worker thread
 * (leaf-hashing-thread.ts).
 *
 * Why a thread: verifying the log is two halves of about equal cost — reading and assembling
 * the rows (the database driver, on the main thread), and two SHA-256 calls a row (its leaf,
 * and on average one interior node). Run one after the other they took over 10 s for a
 * million entries on our 2-core hosts; overlapped, the reading sets the pace.
 */
import { siblingModule } from '../threads/module-worker.js';
import { RequestWorker } from '../threads/request-worker.js';

/** One page of entries to hash, in sequence order, as the main thread packs it. */
export interface LeafPage {
  /** Each entry's canonical bytes preceded by the 0x00 leaf prefix, back to back. */
  leafInputs: Uint8Array;
  /** ends[i] is where entry i's leaf input ends in leafInputs (its start is ends[i - 1], or 0). */
  ends: Uint32Array;
  /** The stored leaf hash of entry i at 32 * i. */
  stored: Uint8Array;
  /**
   * Entries with no canonical bytes (unreadable): their stored hash stands in as the leaf,
   * so that checkpoints go on judging the rest of the log. leafInputs holds nothing for them.
   */
  standIn: Uint8Array;
  /** Entry indices after which the caller wants the root (checkpoint sizes), ascending. */
  rootsAfter: number[];
}

export interface HashedPage {
  /** Indices of the entries whose recomputed leaf hash differs from the stored one. */
  altered: number[];
  /** Root in hex after each entry of LeafPage.rootsAfter, in the same order. */
  roots: string[];
  /** Root in hex after the whole page. */
  root: string;
}

/**
 * The thread, fed pages in sequence order. Replies come back in the order pages were sent, as
 * the thread handles its messages one at a time. The tree is the thread's state, so a lost
 * thread fails this verification for good: one started afresh would root an empty tree.
 */
export class LeafHasher {
  readonly #thread = new RequestWorker<LeafPage, HashedPage>(
    siblingModule('leaf-hashing-thread', import.meta.url),
    {},
    'leaf hashing',
    'fail',
  );

  /** Hashes one page; the page's buffers are handed over to the worker and unusable afterwards. */
  hash(page: LeafPage): Promise<HashedPage> {
    const hashed = this.#thread.request(page, [
      page.leafInputs.buffer,
      page.ends.buffer,
      page.stored.buffer,
      page.standIn.buffer,
    ] as ArrayBuffer[]);
    // The caller awaits it later, maybe after the worker has failed: that is not unhandled.
    hashed.catch(() => undefined);
    return hashed;
  }

  close(): Promise<void> {
    return this.#thread.close();
  }
}
