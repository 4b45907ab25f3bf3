/**
 * Seeded pseudo-random numbers for synthetic data. Generated populations must be reproducible
 * from a seed alone (tests and benchmarks compare runs), so nothing here reads Math.random or
 * the clock.
 */

import type { RandomSource } from '../domain/identifiers.js';

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of state, passes
 * PractRand well past the volumes we draw, and runs on 32-bit integer arithmetic only, which
 * keeps a million-person population to a fraction of a second of drawing.
 */
export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number | string) {
    const [a, b, c, d] = seedWords(seed);
    this.#a = a;
    this.#b = b;
    this.#c = c;
    this.#d = d;
    // The first outputs of a freshly seeded sfc32 are correlated with the seed.
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** Uniform element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError('SeededRandom.pick: empty array');
    return item;
  }

  /** A `RandomSource` bound to this generator, for the identifier generators. */
  get source(): RandomSource {
    return () => this.next();
  }

  /** An independent generator derived from this one, so sub-streams do not shift each other. */
  fork(label: string): SeededRandom {
    return new SeededRandom(`${this.nextUint32()}:${label}`);
  }
}

/** Four non-zero 32-bit words from a seed, through the splitmix32-style finaliser. */
function seedWords(seed: number | string): [number, number, number, number] {
  let h = 0x811c9dc5;
  const text = typeof seed === 'number' ? `n:${seed}` : `s:${seed}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  const words: number[] = [];
  for (let i = 0; i < 4; i++) {
    h = (h + 0x9e3779b9) | 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    words.push(z === 0 ? 1 : z);
  }
  return [words[0] ?? 1, words[1] ?? 1, words[2] ?? 1, words[3] ?? 1];
}

/**
 * Draws indices with given relative weights in O(log n) per draw (binary search over the
 * cumulative weights): name tables have a few thousand entries, so the alias method's O(1)
 * is not worth its set-up.
 */
export class WeightedSampler {
  readonly #cumulative: Float64Array;
  readonly #total: number;

  constructor(weights: readonly number[]) {
    if (weights.length === 0) throw new RangeError('WeightedSampler: no weights');
    this.#cumulative = new Float64Array(weights.length);
    let total = 0;
    weights.forEach((w, i) => {
      if (!(w >= 0)) throw new RangeError('WeightedSampler: weights must be non-negative');
      total += w;
      this.#cumulative[i] = total;
    });
    if (total <= 0) throw new RangeError('WeightedSampler: weights sum to zero');
    this.#total = total;
  }

  get size(): number {
    return this.#cumulative.length;
  }

  /** Probability of index i, for tests and for term-frequency expectations. */
  probability(i: number): number {
    const hi = this.#cumulative[i] ?? 0;
    const lo = i > 0 ? (this.#cumulative[i - 1] ?? 0) : 0;
    return (hi - lo) / this.#total;
  }

  draw(rng: SeededRandom): number {
    const target = rng.next() * this.#total;
    const cumulative = this.#cumulative;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] ?? 0) > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
