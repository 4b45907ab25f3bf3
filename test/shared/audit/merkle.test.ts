import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MerkleAccumulator,
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from '../../../shared/audit/merkle.js';

// Test vectors published by transparency-dev/merkle (testonly/constants.go and
// proof/verify_test.go), themselves taken from the Certificate Transparency
// reference implementation. Matching them shows we hash exactly as RFC 6962 logs do.
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(
  hex,
);

/** ROOTS[n] is the root of the tree over the first n LEAVES. */
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(hex);

const LEAF_HASHES = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
].map(hex);

/** { leaf: 1-based leaf number, size, proof } as in verify_test.go. */
const INCLUSION_VECTORS: { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leaf: 2,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

const CONSISTENCY_VECTORS: { from: number; to: number; proof: string[] }[] = [
  { from: 1, to: 1, proof: [] },
  {
    from: 1,
    to: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    from: 6,
    to: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    from: 2,
    to: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    from: 6,
    to: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const root = (n: number): Buffer => ROOTS[n] as Buffer;
const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');

/** Flips one bit of one byte: the smallest possible tampering. */
function flipBit(b: Uint8Array, byte = 0, mask = 0x08): Buffer {
  const copy = Buffer.from(b);
  copy[byte] = (copy[byte] as number) ^ mask;
  return copy;
}

// An independent oracle written straight from the RFC's recursive definitions
// (slicing arrays, no cleverness), to cross-check the iterative implementation.
function largestPow2Below(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
function referenceRoot(d: Buffer[]): Buffer {
  if (d.length === 0) return createHash('sha256').digest();
  if (d.length === 1) return d[0] as Buffer;
  const k = largestPow2Below(d.length);
  return nodeHash(referenceRoot(d.slice(0, k)), referenceRoot(d.slice(k)));
}
function referencePath(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = largestPow2Below(d.length);
  return m < k
    ? [...referencePath(m, d.slice(0, k)), referenceRoot(d.slice(k))]
    : [...referencePath(m - k, d.slice(k)), referenceRoot(d.slice(0, k))];
}
function referenceSubproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [referenceRoot(d)];
  const k = largestPow2Below(d.length);
  return m <= k
    ? [...referenceSubproof(m, d.slice(0, k), b), referenceRoot(d.slice(k))]
    : [...referenceSubproof(m - k, d.slice(k), false), referenceRoot(d.slice(0, k))];
}

function syntheticLeaves(n: number, salt = 0): Buffer[] {
  return Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`entry-${salt}-${i}`)));
}

const hexes = (bs: readonly Uint8Array[]): string[] => bs.map((b) => Buffer.from(b).toString('hex'));

describe('RFC 6962 hashing (transparency-dev vectors)', () => {
  it('hashes each standard leaf with the 0x00 prefix', () => {
    expect(hexes(LEAVES.map(leafHash))).toEqual(hexes(LEAF_HASHES));
  });

  it('gives SHA-256 of the empty string as the root of the empty tree', () => {
    expect(rootFromLeafHashes([]).toString('hex')).toBe(root(0).toString('hex'));
    expect(new MerkleAccumulator().root().toString('hex')).toBe(root(0).toString('hex'));
    expect(emptyRoot().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('computes the published root of the first %i leaves', (n) => {
    expect(rootFromLeafHashes(LEAF_HASHES.slice(0, n)).toString('hex')).toBe(root(n).toString('hex'));
  });

  it('gives the published root at every size while streaming leaves through the accumulator', () => {
    const acc = new MerkleAccumulator();
    for (let n = 1; n <= 8; n++) {
      acc.push(LEAF_HASHES[n - 1] as Buffer);
      expect(acc.size).toBe(n);
      expect(acc.root().toString('hex')).toBe(root(n).toString('hex'));
    }
  });

  it('hashes leaf inputs straight into the tree with the same leaves and roots', () => {
    const acc = new MerkleAccumulator();
    for (let n = 1; n <= 8; n++) {
      const leaf = acc.pushLeafInput(Buffer.concat([Buffer.of(0), LEAVES[n - 1] as Buffer]));
      expect(leaf.toString('hex')).toBe((LEAF_HASHES[n - 1] as Buffer).toString('hex'));
      expect(acc.root().toString('hex')).toBe(root(n).toString('hex'));
    }
    // Without the leaf prefix the bytes could be an interior node's input.
    expect(() => acc.pushLeafInput(Buffer.of(1, 2, 3))).toThrow(RangeError);
  });

  it('matches a plain createHash SHA-256 for any entry, including ones larger than the reused buffer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (entry, lr) => {
        const l = lr.subarray(0, 32);
        const r = lr.subarray(32);
        const expectedLeaf = createHash('sha256').update(Buffer.of(0)).update(entry).digest();
        const expectedNode = createHash('sha256').update(Buffer.of(1)).update(l).update(r).digest();
        const gotLeaf = leafHash(entry);
        const gotNode = nodeHash(l, r);
        // Hash something else in between: results must not alias a reused buffer.
        leafHash(Buffer.from('other'));
        nodeHash(r, l);
        expect(gotLeaf.toString('hex')).toBe(expectedLeaf.toString('hex'));
        expect(gotNode.toString('hex')).toBe(expectedNode.toString('hex'));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses node children that are not 32-byte hashes', () => {
    expect(() => nodeHash(Buffer.alloc(31), Buffer.alloc(32))).toThrow(RangeError);
    expect(() => new MerkleAccumulator().push(Buffer.alloc(33))).toThrow(RangeError);
  });
});

describe('inclusion proofs (transparency-dev vectors)', () => {
  it.each(INCLUSION_VECTORS)('builds and verifies the published proof for leaf $leaf of $size', (v) => {
    const index = v.leaf - 1;
    const built = inclusionProof(index, LEAF_HASHES.slice(0, v.size));
    expect(hexes(built)).toEqual(v.proof);
    const lh = LEAF_HASHES[index] as Buffer;
    expect(verifyInclusion(index, v.size, lh, v.proof.map(hex), root(v.size))).toBe(true);
  });

  // The corruptions verify_test.go applies to every known-good proof.
  it.each(INCLUSION_VECTORS.filter((v) => v.size > 1))(
    'rejects every corruption of the proof for leaf $leaf of $size',
    (v) => {
      const index = v.leaf - 1;
      const proof = v.proof.map(hex);
      const lh = LEAF_HASHES[index] as Buffer;
      const r = root(v.size);
      const probes: [number, number, Buffer, Buffer[], Buffer][] = [
        [index - 1, v.size, lh, proof, r],
        [index + 1, v.size, lh, proof, r],
        [index ^ 2, v.size, lh, proof, r],
        [index, v.size * 2, lh, proof, r],
        [index, Math.floor(v.size / 2), lh, proof, r],
        [index, v.size, Buffer.from('WrongLeaf'), proof, r],
        [index, v.size, flipBit(lh), proof, r],
        [index, v.size, lh, proof, root(0)],
        [index, v.size, lh, proof, SOME_HASH],
        [index, v.size, lh, [...proof, Buffer.alloc(0)], r],
        [index, v.size, lh, [...proof, r], r],
        [index, v.size, lh, [Buffer.alloc(0), ...proof], r],
        [index, v.size, lh, [r, ...proof], r],
        [index, v.size, lh, proof.slice(0, -1), r],
      ];
      proof.forEach((_, i) => {
        probes.push([index, v.size, lh, proof.map((p, j) => (j === i ? flipBit(p) : p)), r]);
      });
      if (proof.length > 1) probes.push([index, v.size, lh, [proof[0] as Buffer, SOME_HASH, ...proof.slice(1)], r]);
      for (const [i, size, leaf, p, rt] of probes) {
        expect(verifyInclusion(i, size, leaf, p, rt)).toBe(false);
      }
    },
  );

  it('rejects impossible index/size combinations instead of throwing', () => {
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [2, 1],
      [-1, 4],
      [0.5, 4],
    ] as const) {
      expect(verifyInclusion(index, size, SOME_HASH, [], root(0))).toBe(false);
    }
  });

  it('treats a one-leaf tree as root = leaf hash with an empty proof', () => {
    const lh = leafHash(Buffer.from('data'));
    expect(verifyInclusion(0, 1, lh, [], lh)).toBe(true);
    expect(verifyInclusion(0, 1, lh, [], Buffer.alloc(0))).toBe(false);
    expect(verifyInclusion(0, 1, Buffer.alloc(0), [], lh)).toBe(false);
  });

  it('refuses to build a proof for an index outside the tree', () => {
    expect(() => inclusionProof(8, LEAF_HASHES)).toThrow(RangeError);
    expect(() => inclusionProof(-1, LEAF_HASHES)).toThrow(RangeError);
  });
});

describe('consistency proofs (transparency-dev vectors)', () => {
  it.each(CONSISTENCY_VECTORS)('builds and verifies the published proof from $from to $to', (v) => {
    expect(hexes(consistencyProof(v.from, v.to, LEAF_HASHES))).toEqual(v.proof);
    expect(verifyConsistency(v.from, v.to, root(v.from), root(v.to), v.proof.map(hex))).toBe(true);
  });

  it.each(CONSISTENCY_VECTORS.filter((v) => v.proof.length > 0))(
    'rejects every corruption of the proof from $from to $to',
    (v) => {
      const proof = v.proof.map(hex);
      const r1 = root(v.from);
      const r2 = root(v.to);
      const probes: [number, number, Buffer, Buffer, Buffer[]][] = [
        [v.from - 1, v.to, r1, r2, proof],
        [v.from + 1, v.to, r1, r2, proof],
        [v.from ^ 2, v.to, r1, r2, proof],
        [v.from, v.to * 2, r1, r2, proof],
        [v.from, Math.floor(v.to / 2), r1, r2, proof],
        [v.from, v.to, Buffer.from('WrongRoot'), r2, proof],
        [v.from, v.to, r1, Buffer.from('WrongRoot'), proof],
        [v.from, v.to, flipBit(r1), r2, proof],
        [v.from, v.to, r1, flipBit(r2), proof],
        [v.from, v.to, r2, r1, proof],
        [v.from, v.to, r1, r2, []],
        [v.from, v.to, r1, r2, [...proof, Buffer.alloc(0)]],
        [v.from, v.to, r1, r2, [...proof, r1]],
        [v.from, v.to, r1, r2, [...proof, r2]],
        [v.from, v.to, r1, r2, [Buffer.alloc(0), ...proof]],
        [v.from, v.to, r1, r2, [r1, ...proof]],
        [v.from, v.to, r1, r2, [r2, ...proof]],
        [v.from, v.to, r1, r2, [proof[0] as Buffer, ...proof]],
        [v.from, v.to, r1, r2, proof.slice(0, -1)],
      ];
      proof.forEach((_, i) => {
        probes.push([v.from, v.to, r1, r2, proof.map((p, j) => (j === i ? flipBit(p, 0, 0x10) : p))]);
      });
      for (const [from, to, a, b, p] of probes) {
        expect(verifyConsistency(from, to, a, b, p)).toBe(false);
      }
    },
  );

  it('accepts the trivially consistent cases only with matching roots and no proof', () => {
    const e = root(0);
    expect(verifyConsistency(0, 0, e, e, [])).toBe(true);
    expect(verifyConsistency(0, 5, e, root(5), [])).toBe(true);
    expect(verifyConsistency(3, 3, root(3), root(3), [])).toBe(true);
    // Same size, different root: somebody rewrote history.
    expect(verifyConsistency(3, 3, root(3), root(4), [])).toBe(false);
    // A non-empty proof where none is needed.
    expect(verifyConsistency(3, 3, root(3), root(3), [e])).toBe(false);
    expect(verifyConsistency(0, 5, e, root(5), [e])).toBe(false);
    // "Size 0" with a root that is not the empty tree's root is a bogus checkpoint.
    expect(verifyConsistency(0, 5, SOME_HASH, root(5), [])).toBe(false);
  });

  it('rejects a log that shrank', () => {
    expect(verifyConsistency(2, 1, root(2), root(1), [])).toBe(false);
    expect(() => consistencyProof(2, 1, LEAF_HASHES)).toThrow(RangeError);
  });

  it('refuses to build a proof beyond the leaves it was given', () => {
    expect(() => consistencyProof(2, 9, LEAF_HASHES)).toThrow(RangeError);
  });
});

describe('agreement with the RFC recursive definitions', () => {
  it('computes the same root as the recursive MTH for every size up to 130', () => {
    const leaves = syntheticLeaves(130);
    const acc = new MerkleAccumulator();
    for (let n = 0; n <= 130; n++) {
      const expected = referenceRoot(leaves.slice(0, n)).toString('hex');
      expect(rootFromLeafHashes(leaves.slice(0, n)).toString('hex')).toBe(expected);
      expect(acc.root().toString('hex')).toBe(expected);
      if (n < 130) acc.push(leaves[n] as Buffer);
    }
  });

  it('builds the same inclusion and consistency proofs as PATH and SUBPROOF', () => {
    const leaves = syntheticLeaves(40, 1);
    for (let n = 1; n <= 40; n++) {
      const tree = leaves.slice(0, n);
      for (let m = 0; m < n; m++) {
        expect(hexes(inclusionProof(m, tree))).toEqual(hexes(referencePath(m, tree)));
      }
      for (let m = 1; m < n; m++) {
        expect(hexes(consistencyProof(m, n, leaves))).toEqual(hexes(referenceSubproof(m, tree, true)));
      }
    }
  });
});

describe('properties over random trees', () => {
  // Leaves are random byte strings; sizes up to 300 cover several ragged right edges.
  const treeArb = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 300 });

  it('every inclusion proof verifies, and fails for a changed leaf, index or root', () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), fc.nat(), (entries, pick, other) => {
        const leaves = entries.map((e) => leafHash(e));
        const size = leaves.length;
        const index = pick % size;
        const r = rootFromLeafHashes(leaves);
        const lh = leaves[index] as Buffer;
        const proof = inclusionProof(index, leaves);

        expect(verifyInclusion(index, size, lh, proof, r)).toBe(true);
        expect(rootFromInclusionProof(index, size, lh, proof)?.equals(r)).toBe(true);

        // A modified entry (one extra byte) no longer verifies.
        const tampered = leafHash(Buffer.concat([entries[index] as Uint8Array, Buffer.of(0)]));
        expect(verifyInclusion(index, size, tampered, proof, r)).toBe(false);
        // The same proof claimed for another position does not verify.
        const wrongIndex = (index + 1 + (other % Math.max(1, size - 1))) % size;
        if (wrongIndex !== index && !(leaves[wrongIndex] as Buffer).equals(lh)) {
          expect(verifyInclusion(wrongIndex, size, lh, proof, r)).toBe(false);
        }
        // Nor against a different root.
        expect(verifyInclusion(index, size, lh, proof, flipBit(r, other % 32, 1))).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('every consistency proof verifies, and fails when either root is altered', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.nat(),
        fc.nat(),
        fc.integer({ min: 0, max: 31 }),
        (to, pickFrom, salt, byte) => {
          const leaves = syntheticLeaves(to, salt);
          // from = 0 is excluded: the empty tree is a prefix of every tree, so its
          // proof says nothing about the later root (covered by its own test above).
          const from = 1 + (pickFrom % to);
          const r1 = rootFromLeafHashes(leaves.slice(0, from));
          const r2 = rootFromLeafHashes(leaves);
          const proof = consistencyProof(from, to, leaves);

          expect(verifyConsistency(from, to, r1, r2, proof)).toBe(true);
          expect(verifyConsistency(from, to, flipBit(r1, byte, 1), r2, proof)).toBe(false);
          expect(verifyConsistency(from, to, r1, flipBit(r2, byte, 1), proof)).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a rewritten early entry breaks consistency with the tree published before it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 200 }), fc.nat(), fc.nat(), (to, pickFrom, pickVictim) => {
        const honest = syntheticLeaves(to, 7);
        const from = 1 + (pickFrom % (to - 1));
        const published = rootFromLeafHashes(honest.slice(0, from));
        // The operator rewrites one entry that the published checkpoint covered...
        const rewritten = [...honest];
        rewritten[pickVictim % from] = leafHash(Buffer.from('rewritten'));
        // ...and then cannot prove its new tree extends what was published.
        const proof = consistencyProof(from, to, rewritten);
        expect(verifyConsistency(from, to, published, rootFromLeafHashes(rewritten), proof)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});
