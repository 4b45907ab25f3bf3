import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consistencyProof, inclusionProof, rootFromLeafHashes } from '../../../shared/audit/merkle.js';
import { LOG_INCONSISTENT, proofFromLeafStream } from '../../../shared/audit/proof-stream.js';

const leafAt = (i: number): Buffer => createHash('sha256').update(`leaf ${i}`).digest();

async function* leavesOf(hashes: readonly Buffer[], upTo: number): AsyncGenerator<Buffer> {
  for (const h of hashes.slice(0, upTo)) yield h;
}

const hexes = (hs: readonly Buffer[]) => hs.map((h) => h.toString('hex'));

describe('proofs computed while the log streams by', () => {
  it('are the in-memory proofs and roots for every tree size 0..200, any leaf and any prefix', async () => {
    const all = Array.from({ length: 200 }, (_, i) => leafAt(i));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 200 }).chain((n) =>
          fc.record({
            n: fc.constant(n),
            index: fc.integer({ min: 0, max: Math.max(0, n - 1) }),
            from: fc.integer({ min: 0, max: n }),
          }),
        ),
        async ({ n, index, from }) => {
          const hashes = all.slice(0, n);
          const source = (upTo: number) => leavesOf(all, upTo);
          const root = rootFromLeafHashes(hashes).toString('hex');
          if (n > 0) {
            const included = await proofFromLeafStream(source, { treeSize: n, inclusionOf: index }, new Map());
            expect(included).not.toBe(LOG_INCONSISTENT);
            if (included === undefined || included === LOG_INCONSISTENT) return;
            expect(included.root.toString('hex')).toBe(root);
            expect(included.leaf?.toString('hex')).toBe(hashes[index]!.toString('hex'));
            expect(hexes(included.proof)).toEqual(hexes(inclusionProof(index, hashes)));
          }
          const consistent = await proofFromLeafStream(source, { treeSize: n, consistencyFrom: from }, new Map());
          if (consistent === undefined || consistent === LOG_INCONSISTENT) throw new Error('no consistency proof');
          expect(consistent.root.toString('hex')).toBe(root);
          expect(consistent.fromRoot?.toString('hex')).toBe(rootFromLeafHashes(hashes.slice(0, from)).toString('hex'));
          expect(hexes(consistent.proof)).toEqual(hexes(consistencyProof(from, n, hashes)));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('still refuses a proof when any signed root is not the log’s at its size, or lies past its end', async () => {
    const all = Array.from({ length: 40 }, (_, i) => leafAt(i));
    const source = (upTo: number) => leavesOf(all, upTo);
    const rootOf = (n: number) => rootFromLeafHashes(all.slice(0, n)).toString('hex');
    const good = new Map([
      [10, rootOf(10)],
      [30, rootOf(30)],
    ]);
    expect(await proofFromLeafStream(source, { treeSize: 20, inclusionOf: 3 }, good)).toMatchObject({
      root: Buffer.from(rootOf(20), 'hex'),
    });
    const rewritten = new Map([...good, [30, rootOf(29)]]);
    expect(await proofFromLeafStream(source, { treeSize: 20, inclusionOf: 3 }, rewritten)).toBe(LOG_INCONSISTENT);
    const pastTheEnd = new Map([...good, [41, rootOf(40)]]);
    expect(await proofFromLeafStream(source, { treeSize: 20, consistencyFrom: 5 }, pastTheEnd)).toBe(LOG_INCONSISTENT);
    expect(await proofFromLeafStream(source, { treeSize: 41, inclusionOf: 3 }, good)).toBeUndefined();
  });
});

/** The collector, on demand: a live hash is one the code under test still refers to after a full collection. */
function collectGarbage(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('a proof over a long log', () => {
  it('holds O(log n) of the leaf hashes read, not one per entry up to the tree size', async () => {
    const gc = collectGarbage();
    const size = 8192;
    const live = new Set<WeakRef<Buffer>>();
    let mostLive = 0;
    const countLive = async () => {
      // A later task: WeakRefs made in this one keep their targets for the rest of it.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      for (const ref of live) if (ref.deref() === undefined) live.delete(ref);
      mostLive = Math.max(mostLive, live.size);
    };
    /** Makes each hash as it is asked for, so that only the code under test can keep one alive. */
    async function* lazily(upTo: number): AsyncGenerator<Buffer> {
      for (let i = 0; i < Math.min(upTo, size); i++) {
        if (i % 512 === 511) await countLive();
        const hash = leafAt(i);
        live.add(new WeakRef(hash));
        yield hash;
      }
    }
    const signed = new Map([
      [size, rootFromLeafHashes(Array.from({ length: size }, (_, i) => leafAt(i))).toString('hex')],
    ]);
    const proof = await proofFromLeafStream(lazily, { treeSize: size - 1, inclusionOf: 4000 }, signed);
    await countLive();
    expect(proof).toMatchObject({ proof: expect.any(Array) });
    // log2(8192) = 13: the compact ranges hold copies, so the source's own hashes live here only while being pushed.
    expect(mostLive).toBeLessThanOrEqual(4 * Math.log2(size));
  });
});
