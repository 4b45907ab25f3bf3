/**
 * Worker-thread entry of the leaf hasher (see leaf-hasher.ts for why): for each page it hashes
 * every entry's leaf into the tree, compares it with the stored hash, and answers with the
 * entries that differ and the roots the caller asked for. The tree is merkle.ts's own
 * MerkleAccumulator, so a verification roots the log exactly as every other caller does.
 */
import { parentPort } from 'node:worker_threads';
import { HASH_LENGTH, MerkleAccumulator } from './merkle.js';
import type { HashedPage, LeafPage } from './leaf-hasher.js';

const tree = new MerkleAccumulator();

parentPort!.on('message', ({ leafInputs, ends, stored, standIn, rootsAfter }: LeafPage) => {
  const storedHashes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  const altered: number[] = [];
  const roots: string[] = [];
  let nextRoot = 0;
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const storedHash = storedHashes.subarray(i * HASH_LENGTH, (i + 1) * HASH_LENGTH);
    if (standIn[i]) {
      tree.push(storedHash);
    } else {
      const leaf = tree.pushLeafInput(leafInputs.subarray(start, ends[i]));
      if (!leaf.equals(storedHash)) altered.push(i);
    }
    start = ends[i]!;
    while (nextRoot < rootsAfter.length && rootsAfter[nextRoot] === i) {
      roots.push(tree.root().toString('hex'));
      nextRoot++;
    }
  }
  parentPort!.postMessage({ altered, roots, root: tree.root().toString('hex') } satisfies HashedPage);
});
