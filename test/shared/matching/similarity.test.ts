import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  damerauLevenshtein,
  jaro,
  jaroWinkler,
  normalisedEditSimilarity,
} from '../../../shared/matching/similarity.js';

/** Textbook full-matrix OSA distance, the reference the fast version must agree with. */
function referenceOsa(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
  }
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.NaN;
  const set = (i: number, j: number, v: number): void => {
    const row = d[i];
    if (row !== undefined) row[j] = v;
  };
  for (let i = 0; i <= a.length; i++) set(i, 0, i);
  for (let j = 0; j <= b.length; j++) set(0, j, j);
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, at(i - 2, j - 2) + 1);
      }
      set(i, j, v);
    }
  }
  return at(a.length, b.length);
}

const smallAlphabet = fc.string({ unit: fc.constantFrom('A', 'B', 'C', 'D'), maxLength: 9 });
const names = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ '), maxLength: 20 });

describe('jaro', () => {
  it('matches the published values', () => {
    expect(jaro('MARTHA', 'MARHTA')).toBeCloseTo(0.944, 3);
    expect(jaro('DWAYNE', 'DUANE')).toBeCloseTo(0.822, 3);
    expect(jaro('DIXON', 'DICKSONX')).toBeCloseTo(0.767, 3);
  });
});

describe('jaroWinkler', () => {
  it('matches the published values', () => {
    expect(jaroWinkler('MARTHA', 'MARHTA')).toBeCloseTo(0.961, 3);
    expect(jaroWinkler('DWAYNE', 'DUANE')).toBeCloseTo(0.84, 3);
    expect(jaroWinkler('DIXON', 'DICKSONX')).toBeCloseTo(0.813, 3);
  });

  it('scores identical strings 1, and disjoint or one-sided-empty strings 0', () => {
    expect(jaroWinkler('SMITH', 'SMITH')).toBe(1);
    expect(jaroWinkler('', '')).toBe(1);
    expect(jaroWinkler('SMITH', '')).toBe(0);
    expect(jaroWinkler('', 'SMITH')).toBe(0);
    expect(jaroWinkler('ABC', 'XYZ')).toBe(0);
  });

  it('caps the prefix bonus at four characters', () => {
    // Same Jaro, prefixes of 4 and 5 characters: the fifth earns nothing.
    const j4 = jaro('ABCDXFGH', 'ABCDYFGH');
    expect(jaroWinkler('ABCDXFGH', 'ABCDYFGH')).toBeCloseTo(j4 + 0.4 * (1 - j4), 12);
    const j5 = jaro('ABCDEXGH', 'ABCDEYGH');
    expect(jaroWinkler('ABCDEXGH', 'ABCDEYGH')).toBeCloseTo(j5 + 0.4 * (1 - j5), 12);
  });

  it('gives no prefix bonus to pairs Jaro already finds dissimilar (threshold 0.7)', () => {
    expect(jaro('ABCDEFGH', 'ABXXXXXX')).toBeCloseTo(0.5, 12);
    expect(jaroWinkler('ABCDEFGH', 'ABXXXXXX')).toBeCloseTo(0.5, 12);
  });

  it('is symmetric, bounded, and never below Jaro', () => {
    fc.assert(
      fc.property(names, names, (a, b) => {
        const s = jaroWinkler(a, b);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
        expect(jaroWinkler(b, a)).toBeCloseTo(s, 12);
        expect(s).toBeGreaterThanOrEqual(jaro(a, b));
      }),
    );
  });

  it('gives the same answers after its buffers have grown for long strings', () => {
    const long = 'A'.repeat(300) + 'B'.repeat(300);
    expect(jaroWinkler(long, long.split('').reverse().join(''))).toBeGreaterThan(0);
    expect(jaroWinkler('MARTHA', 'MARHTA')).toBeCloseTo(0.961, 3);
  });
});

describe('damerauLevenshtein (optimal string alignment)', () => {
  it('matches known distances', () => {
    expect(damerauLevenshtein('KITTEN', 'SITTING')).toBe(3);
    expect(damerauLevenshtein('ABCD', 'ACBD')).toBe(1);
    expect(damerauLevenshtein('MARTHA', 'MARHTA')).toBe(1);
    expect(damerauLevenshtein('SMITH', 'SMYTHE')).toBe(2);
    expect(damerauLevenshtein('', 'ABC')).toBe(3);
    expect(damerauLevenshtein('ABC', '')).toBe(3);
    expect(damerauLevenshtein('SAME', 'SAME')).toBe(0);
  });

  it('is the restricted (OSA) distance: CA -> ABC is 3, not the unrestricted 2', () => {
    expect(damerauLevenshtein('CA', 'ABC')).toBe(3);
  });

  it('agrees with the full-matrix OSA reference', () => {
    fc.assert(
      fc.property(smallAlphabet, smallAlphabet, (a, b) => {
        expect(damerauLevenshtein(a, b)).toBe(referenceOsa(a, b));
      }),
      { numRuns: 3000 },
    );
  });

  it('still agrees after its rows have grown for a long string', () => {
    const long = 'ABCD'.repeat(100);
    expect(damerauLevenshtein(long, `X${long}Y`)).toBe(2);
    expect(damerauLevenshtein('CA', 'ABC')).toBe(3);
    expect(damerauLevenshtein('BADCAB', 'ABCDBA')).toBe(referenceOsa('BADCAB', 'ABCDBA'));
  });
});

describe('normalisedEditSimilarity', () => {
  it('scales the distance by the longer string into [0, 1]', () => {
    expect(normalisedEditSimilarity('MARTHA', 'MARHTA')).toBeCloseTo(5 / 6, 12);
    expect(normalisedEditSimilarity('KITTEN', 'SITTING')).toBeCloseTo(4 / 7, 12);
    expect(normalisedEditSimilarity('ABC', 'XYZ')).toBe(0);
    expect(normalisedEditSimilarity('', '')).toBe(1);
    expect(normalisedEditSimilarity('A', '')).toBe(0);
  });

  it('stays within [0, 1] and is symmetric', () => {
    fc.assert(
      fc.property(names, names, (a, b) => {
        const s = normalisedEditSimilarity(a, b);
        expect(s).toBeGreaterThanOrEqual(0);
        expect(s).toBeLessThanOrEqual(1);
        expect(normalisedEditSimilarity(b, a)).toBe(s);
      }),
    );
  });
});
