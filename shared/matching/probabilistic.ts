/**
 * Tier 5, "other methodology": Fellegi–Sunter over blocked candidate pairs. Its pairs are
 * candidates for an officer to confirm — never links — so the agreement's "where no link is
 * found, data will not be displayed" still holds until someone has looked.
 *
 * The model is trained (EM, no labels) on blocked pairs of all records, where matches are
 * plentiful, and then scores only the records the deterministic tiers left unlinked on both
 * sides, with the prior re-estimated there. Exact agreement on a name is worth more for a rare
 * name than for SMITH: the weight of exact name agreement is adjusted by how often that name
 * occurs (term frequency) relative to how often names agree by chance on average.
 */

import { familyNameKey, familyNameKeyColumn } from '../domain/normalise.js';
import { BLOCKING_PASSES, blockCandidates } from './blocking.js';
import type { BlockingPassSummary } from './blocking.js';
import {
  FAMILY,
  FIELDS,
  GIVEN,
  PATTERN_COUNT,
  SWAPPED_NAMES,
  compareRecords,
  comparisonColumns,
  levelOf,
} from './comparison.js';
import type { ComparisonColumns } from './comparison.js';
import {
  combinePassEstimates,
  estimateParameters,
  estimatePrior,
  matchProbability,
  patternWeights,
  uFromRandomPairs,
} from './fellegi-sunter.js';
import type { FellegiSunterParameters, PassEstimate } from './fellegi-sunter.js';
import { hardIdentifierConflict, otherKeyVersionConflict } from './hard-identifiers.js';
import type { RecordBatch } from './record.js';

export interface ProbabilisticOptions {
  /**
   * Candidates at or above this posterior probability go to review (default 0.02). Low on
   * purpose: the queue is ranked, an officer confirms each pair, and on the hardest synthetic
   * profile this is where tiers 1–5 reach 99% recall.
   */
  readonly reviewThreshold?: number;
  /**
   * Keep only a pair that is the best-scoring candidate of its left or of its right record
   * (default true): a record's weaker candidates are mostly its relatives.
   */
  readonly bestPerRecordOnly?: boolean;
  readonly maxBlockPairs?: number;
  /** Records per side the model is trained on; an even sample when there are more (50,000). */
  readonly trainingRecords?: number;
  /** Adjust exact name agreement by term frequency (default true). */
  readonly termFrequency?: boolean;
  /** Random pairs drawn to estimate u (default 400,000). */
  readonly randomPairs?: number;
}

export interface ProbabilisticCandidates {
  readonly count: number;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Total match weight (log2 Bayes factor) including term-frequency adjustments. */
  readonly weight: Float64Array;
  readonly probability: Float64Array;
  /** Packed comparison pattern (see `comparison.ts`). */
  readonly pattern: Int32Array;
  readonly parameters: FellegiSunterParameters;
  /** Share of matches among all pairs of unlinked records, the prior of the probabilities. */
  readonly residualPrior: number;
  readonly trainingPairs: number;
  readonly scoredPairs: number;
  /** Scored pairs refused because a hard identifier disagreed or could not be compared (another key version). */
  readonly hardIdentifierConflicts: number;
  readonly trainingBlocking: readonly BlockingPassSummary[];
  readonly scoringBlocking: readonly BlockingPassSummary[];
}

function countUnlinked(flags: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i] === 0) n++;
  return n;
}

/**
 * Comparison patterns of `count` pseudo-random pairs (a fixed linear congruential sequence, so
 * runs repeat), or of every pair when there are fewer.
 */
function randomPairPatterns(
  l: ComparisonColumns,
  nl: number,
  r: ComparisonColumns,
  nr: number,
  count: number,
): Float64Array {
  const counts = new Float64Array(PATTERN_COUNT);
  if (nl === 0 || nr === 0) return counts;
  const add = (i: number, j: number): void => {
    const p = compareRecords(l, i, r, j) & 0xffff;
    counts[p] = (counts[p] as number) + 1;
  };
  if (nl * nr <= count) {
    for (let i = 0; i < nl; i++) for (let j = 0; j < nr; j++) add(i, j);
    return counts;
  }
  let state = 0x2545f491;
  const next = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296;
  };
  for (let k = 0; k < count; k++) add(Math.floor(next() * nl), Math.floor(next() * nr));
  return counts;
}

/** Records of one side whose flag is 0 (unlinked). */
function unlinked(flags: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i] === 0) n++;
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < flags.length; i++) if (flags[i] === 0) out[k++] = i;
  return out;
}

/**
 * An evenly spaced sample of `limit` of `size` records, or undefined for all of them. Record
 * order in a batch carries no meaning, so spacing is as good as a random draw and needs no seed.
 */
function sample(size: number, limit: number): Int32Array | undefined {
  if (size <= limit) return undefined;
  const out = new Int32Array(limit);
  for (let k = 0; k < limit; k++) out[k] = Math.floor((k * size) / limit);
  return out;
}

/** Relative frequencies of each value across both columns, and the chance two random values agree. */
class TermFrequencies {
  readonly #counts = new Map<string, number>();
  #total = 0;
  readonly chanceAgreement: number;

  constructor(...columns: (readonly string[])[]) {
    for (const column of columns) {
      for (const v of column) {
        if (v === '') continue;
        this.#counts.set(v, (this.#counts.get(v) ?? 0) + 1);
        this.#total++;
      }
    }
    let s = 0;
    for (const c of this.#counts.values()) s += (c / this.#total) ** 2;
    this.chanceAgreement = s;
  }

  /**
   * log2(average chance agreement / this value's frequency): negative for common names,
   * positive for rare ones, bounded so that a name seen once cannot dominate the weight.
   */
  adjustment(value: string): number {
    const f = Math.max(this.#counts.get(value) ?? 1, 1) / this.#total;
    const a = Math.log2(this.chanceAgreement / f);
    return a < -6 ? -6 : a > 6 ? 6 : a;
  }
}

export function linkProbabilistic(
  left: RecordBatch,
  right: RecordBatch,
  linkedLeft: Uint8Array,
  linkedRight: Uint8Array,
  options: ProbabilisticOptions = {},
  rejected?: RejectedPairs,
): ProbabilisticCandidates {
  const threshold = options.reviewThreshold ?? 0.02;
  const bestOnly = options.bestPerRecordOnly ?? true;
  const trainingLimit = options.trainingRecords ?? 50_000;
  const useTf = options.termFrequency ?? true;
  const [l, r] = comparisonColumns(left, right);

  // u from random pairs; m per blocking pass by EM over the fields the pass did not block on.
  const u = uFromRandomPairs(randomPairPatterns(l, left.size, r, right.size, options.randomPairs ?? 400_000));
  const training = blockCandidates(l, left.size, r, right.size, {
    maxBlockPairs: options.maxBlockPairs,
    leftRecords: sample(left.size, trainingLimit),
    rightRecords: sample(right.size, trainingLimit),
    dedupeAcrossPasses: false,
  } as const);
  const passCounts = BLOCKING_PASSES.map(() => new Float64Array(PATTERN_COUNT));
  const passPairs = BLOCKING_PASSES.map(() => 0);
  for (let k = 0; k < training.count; k++) {
    const p = compareRecords(l, training.left[k] as number, r, training.right[k] as number) & 0xffff;
    const pass = training.pass[k] as number;
    const counts = passCounts[pass] as Float64Array;
    counts[p] = (counts[p] as number) + 1;
    passPairs[pass] = (passPairs[pass] as number) + 1;
  }
  const estimates: PassEstimate[] = BLOCKING_PASSES.map((pass, k) => {
    const activeFields = FIELDS.map((_, f) => !pass.blockedFields.includes(f));
    return {
      parameters: estimateParameters(passCounts[k] as Float64Array, { activeFields, fixedU: u }),
      activeFields,
      pairs: passPairs[k] as number,
    };
  });
  const parameters = combinePassEstimates(estimates, u);
  const weightOfPattern = patternWeights(parameters);
  // By key, as exact agreement is (familyNameLevel): "O BRIEN" is as common as OBRIEN and O BRIEN together.
  const familyTf = useTf
    ? new TermFrequencies(familyNameKeyColumn(left.familyName), familyNameKeyColumn(right.familyName))
    : null;
  const givenTf = useTf ? new TermFrequencies(left.givenName, right.givenName) : null;

  // Scoring: residual records only.
  const scoring = blockCandidates(l, left.size, r, right.size, {
    maxBlockPairs: options.maxBlockPairs,
    leftRecords: unlinked(linkedLeft),
    rightRecords: unlinked(linkedRight),
  } as const);
  const weights = new Float64Array(scoring.count);
  const patterns = new Int32Array(scoring.count);
  const keep = new Uint8Array(scoring.count);
  let conflicts = 0;
  for (let k = 0; k < scoring.count; k++) {
    const i = scoring.left[k] as number;
    const j = scoring.right[k] as number;
    if (hardIdentifierConflict(left, i, right, j) !== null || otherKeyVersionConflict(left, i, right, j) !== null) {
      conflicts++;
      continue;
    }
    const pattern = compareRecords(l, i, r, j);
    patterns[k] = pattern;
    weights[k] = scorePattern(pattern, weightOfPattern, l, i, familyTf, givenTf);
    keep[k] = 1;
  }
  const kept = compact(scoring.left, scoring.right, weights, patterns, keep);
  const residualPairs = countUnlinked(linkedLeft) * countUnlinked(linkedRight);
  const residualPrior = estimatePrior(kept.weight, kept.count, residualPairs);

  const { bestLeft, bestRight } = bestWeights(kept, left.size, right.size, rejected);
  const probability = new Float64Array(kept.count);
  const selected = new Uint8Array(kept.count);
  for (let k = 0; k < kept.count; k++) {
    const w = kept.weight[k] as number;
    const pr = matchProbability(w, residualPrior);
    probability[k] = pr;
    const best =
      w >= (bestLeft[kept.left[k] as number] as number) || w >= (bestRight[kept.right[k] as number] as number);
    if (pr >= threshold && (best || !bestOnly)) selected[k] = 1;
  }
  const out = compact(kept.left, kept.right, kept.weight, kept.pattern, selected, probability);
  return {
    count: out.count,
    left: out.left,
    right: out.right,
    weight: out.weight,
    probability: out.probability,
    pattern: out.pattern,
    parameters,
    residualPrior,
    trainingPairs: training.count,
    scoredPairs: scoring.count,
    hardIdentifierConflicts: conflicts,
    trainingBlocking: training.passes,
    scoringBlocking: scoring.passes,
  };
}

/**
 * Whether an officer has rejected the pair of left record i and right record j
 * (shared/linkage/link-decisions.ts): a pair ruled out, which is no record's best candidate.
 */
export type RejectedPairs = (i: number, j: number) => boolean;

/**
 * Each record's best weight among its pairs, passing over the pairs an officer rejected. Where a
 * record's best candidate had been rejected, it stood there for good: its next best, the
 * likeliest pair left, was never proposed, as it was no record's best (found by a review). Only a
 * pair at a record's best is asked about (asking is a keyed hash per pair), again with the best of
 * those left where one was rejected, until no best is a rejected pair. A rejected pair is still
 * selected, as it was, so that a pass counts it (`candidatesRejectedEarlier`).
 */
function bestWeights(
  kept: { count: number; left: Int32Array; right: Int32Array; weight: Float64Array },
  leftSize: number,
  rightSize: number,
  rejected: RejectedPairs | undefined,
): { bestLeft: Float64Array; bestRight: Float64Array } {
  const passedOver = new Uint8Array(kept.count);
  const asked = new Uint8Array(kept.count);
  for (;;) {
    const bestLeft = new Float64Array(leftSize).fill(-Infinity);
    const bestRight = new Float64Array(rightSize).fill(-Infinity);
    for (let k = 0; k < kept.count; k++) {
      if (passedOver[k] === 1) continue;
      const w = kept.weight[k] as number;
      const i = kept.left[k] as number;
      const j = kept.right[k] as number;
      if (w > (bestLeft[i] as number)) bestLeft[i] = w;
      if (w > (bestRight[j] as number)) bestRight[j] = w;
    }
    if (rejected === undefined) return { bestLeft, bestRight };
    let more = false;
    for (let k = 0; k < kept.count; k++) {
      if (passedOver[k] === 1 || asked[k] === 1) continue;
      const w = kept.weight[k] as number;
      const i = kept.left[k] as number;
      const j = kept.right[k] as number;
      if (w < (bestLeft[i] as number) && w < (bestRight[j] as number)) continue;
      asked[k] = 1;
      if (rejected(i, j)) {
        passedOver[k] = 1;
        more = true;
      }
    }
    if (!more) return { bestLeft, bestRight };
  }
}

function scorePattern(
  pattern: number,
  weightOfPattern: Float64Array,
  l: ComparisonColumns,
  i: number,
  familyTf: TermFrequencies | null,
  givenTf: TermFrequencies | null,
): number {
  let w = weightOfPattern[pattern & 0xffff] as number;
  if ((pattern & SWAPPED_NAMES) === 0) {
    if (familyTf !== null && levelOf(pattern, FAMILY) === 0)
      w += familyTf.adjustment(familyNameKey(l.family[i] as string));
    if (givenTf !== null && levelOf(pattern, GIVEN) === 0) w += givenTf.adjustment(l.given[i] as string);
  }
  return w;
}

function compact(
  left: Int32Array,
  right: Int32Array,
  weight: Float64Array,
  pattern: Int32Array,
  keep: Uint8Array,
  probability?: Float64Array,
): {
  count: number;
  left: Int32Array;
  right: Int32Array;
  weight: Float64Array;
  pattern: Int32Array;
  probability: Float64Array;
} {
  let n = 0;
  for (let k = 0; k < keep.length; k++) if (keep[k] === 1) n++;
  const out = {
    count: n,
    left: new Int32Array(n),
    right: new Int32Array(n),
    weight: new Float64Array(n),
    pattern: new Int32Array(n),
    probability: new Float64Array(n),
  };
  let c = 0;
  for (let k = 0; k < keep.length; k++) {
    if (keep[k] !== 1) continue;
    out.left[c] = left[k] as number;
    out.right[c] = right[k] as number;
    out.weight[c] = weight[k] as number;
    out.pattern[c] = pattern[k] as number;
    out.probability[c] = probability?.[k] ?? 0;
    c++;
  }
  return out;
}
