import { storedLeafHashes } from '../../shared/audit/leaf-stream.js';
import type { Store } from '../../shared/store/database.js';

/**
 * The stored leaf hashes for seq 1..treeSize, all in memory: for tests that build a root or a
 * proof with merkle.ts's array functions. Product code streams them (storedLeafHashes), as a
 * long log held whole once cost over a gigabyte a request.
 */
export async function leafHashes(store: Store, treeSize: number): Promise<Buffer[]> {
  const hashes: Buffer[] = [];
  for await (const hash of storedLeafHashes(store, treeSize)) hashes.push(hash);
  return hashes;
}
