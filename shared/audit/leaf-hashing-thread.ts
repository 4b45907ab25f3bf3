/**
 * Leaf hashing and Merkle tree building for a full-log verification, on a worker thread.
 *
 * Why a thread: verifying the log is two halves of about equal cost — reading and assembling
 * the rows (the database driver, on the main thread), and two SHA-256 calls a row (its leaf,
 * and on average one interior node). Run one after the other they took over 10 s for a
 * million entries on our 2-core hosts; overlapped, the reading sets the pace.
 *
 * The worker is plain JavaScript evaluated from a string, so it runs the same under tsx,
 * vitest and the compiled build (a .ts worker file would need a loader in each). It shares no
 * code with merkle.ts, so it repeats MerkleAccumulator's carry and fold (RFC 6962 §2.1); the
 * verification tests hold the two to the same roots.
 */
import { Worker } from 'node:worker_threads';

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

const WORKER_SOURCE = String.raw`
const { parentPort } = require('node:worker_threads');
const { hash } = require('node:crypto');
const H = 32;
// Roots of the perfect subtrees of the leaves so far, H bytes a slot, largest first: the
// sizes are the set bits of size. Same carry and fold as merkle.ts MerkleAccumulator.
const stack = Buffer.alloc(64 * H);
const nodeInput = Buffer.alloc(1 + 2 * H, 1);
let depth = 0;
let size = 0;
function carry() {
  let top = depth;
  let c = size;
  while (c % 2 === 1) {
    const left = (top - 1) * H;
    stack.copy(nodeInput, 1, left, left + 2 * H);
    stack.write(hash('sha256', nodeInput, 'binary'), left, 'latin1');
    top--;
    c = Math.floor(c / 2);
  }
  depth = top + 1;
  size++;
}
function rootHex() {
  if (depth === 0) return hash('sha256', '', 'hex');
  let acc = stack.subarray((depth - 1) * H, depth * H);
  for (let i = depth - 2; i >= 0; i--) {
    stack.copy(nodeInput, 1, i * H, (i + 1) * H);
    nodeInput.set(acc, 1 + H);
    acc = hash('sha256', nodeInput, 'buffer');
  }
  return Buffer.from(acc).toString('hex');
}
parentPort.on('message', ({ leafInputs, ends, stored, standIn, rootsAfter }) => {
  const inputs = Buffer.from(leafInputs.buffer, leafInputs.byteOffset, leafInputs.byteLength);
  const storedHashes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const altered = [];
  const roots = [];
  let nextRoot = 0;
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const slot = depth * H;
    if (standIn[i]) {
      storedHashes.copy(stack, slot, i * H, (i + 1) * H);
    } else {
      stack.write(hash('sha256', inputs.subarray(start, ends[i]), 'binary'), slot, 'latin1');
      if (stack.compare(storedHashes, i * H, (i + 1) * H, slot, slot + H) !== 0) altered.push(i);
    }
    start = ends[i];
    carry();
    while (nextRoot < rootsAfter.length && rootsAfter[nextRoot] === i) {
      roots.push(rootHex());
      nextRoot++;
    }
  }
  parentPort.postMessage({ altered, roots, root: rootHex() });
});
`;

/**
 * The worker, fed pages in sequence order. Replies come back in the order pages were sent, as
 * the worker handles its messages one at a time.
 */
export class LeafHashingThread {
  readonly #worker = new Worker(WORKER_SOURCE, { eval: true });
  readonly #waiting: { resolve: (page: HashedPage) => void; reject: (error: Error) => void }[] = [];
  #failure: Error | undefined;

  constructor() {
    this.#worker.on('message', (page: HashedPage) => this.#waiting.shift()?.resolve(page));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`leaf hashing thread exited with code ${code}`)));
  }

  /** Hashes one page; the page's buffers are handed over to the worker and unusable afterwards. */
  hash(page: LeafPage): Promise<HashedPage> {
    if (this.#failure) return Promise.reject(this.#failure);
    const hashed = new Promise<HashedPage>((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
      this.#worker.postMessage(page, [
        page.leafInputs.buffer,
        page.ends.buffer,
        page.stored.buffer,
        page.standIn.buffer,
      ] as ArrayBuffer[]);
    });
    // The caller awaits it later, maybe after the worker has failed: that is not unhandled.
    hashed.catch(() => undefined);
    return hashed;
  }

  async close(): Promise<void> {
    this.#failure ??= new Error('leaf hashing thread closed');
    await this.#worker.terminate();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const waiting of this.#waiting.splice(0)) waiting.reject(this.#failure);
  }
}
