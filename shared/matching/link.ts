/**
 * The whole linkage of two sources: deterministic tiers 1–4 (automatic links) and, unless
 * turned off, the probabilistic tier 5 (review candidates) on what they left.
 */

import { linkDeterministic } from './deterministic.js';
import type { DeterministicLinks, DeterministicOptions } from './deterministic.js';
import { linkProbabilistic } from './probabilistic.js';
import type { ProbabilisticCandidates, ProbabilisticOptions, RejectedPairs } from './probabilistic.js';
import type { RecordBatch } from './record.js';

export interface LinkOptions {
  readonly deterministic?: DeterministicOptions;
  /** Options of tier 5, or false to run tiers 1–4 only. */
  readonly probabilistic?: ProbabilisticOptions | false;
  /** Pairs officers rejected: tier 5 passes over them when it finds each record's best candidate. */
  readonly rejected?: RejectedPairs;
}

export interface LinkResult {
  readonly deterministic: DeterministicLinks;
  readonly candidates: ProbabilisticCandidates | null;
}

/** One predicted pair, for output. Tier 5 pairs carry their weight and probability. */
export interface LinkedPair {
  readonly left: number;
  readonly right: number;
  readonly tier: 1 | 2 | 3 | 4 | 5;
  readonly rule: string;
  readonly weight: number | null;
  readonly probability: number | null;
}

export function linkBatches(left: RecordBatch, right: RecordBatch, options: LinkOptions = {}): LinkResult {
  const deterministic = linkDeterministic(left, right, options.deterministic);
  const candidates =
    options.probabilistic === false
      ? null
      : linkProbabilistic(
          left,
          right,
          deterministic.linkedLeft,
          deterministic.linkedRight,
          options.probabilistic,
          options.rejected,
        );
  return { deterministic, candidates };
}

/** Every predicted pair as arrays (left, right, tier), the shape `evaluatePairs` takes. */
export function predictedPairs(result: LinkResult): {
  count: number;
  left: Int32Array;
  right: Int32Array;
  tier: Uint8Array;
} {
  const d = result.deterministic;
  const c = result.candidates;
  const count = d.count + (c?.count ?? 0);
  const left = new Int32Array(count);
  const right = new Int32Array(count);
  const tier = new Uint8Array(count);
  left.set(d.left);
  right.set(d.right);
  tier.set(d.tier);
  if (c !== null) {
    left.set(c.left, d.count);
    right.set(c.right, d.count);
    tier.fill(5, d.count);
  }
  return { count, left, right, tier };
}

/** The predicted pairs one by one, deterministic links first. */
export function* linkedPairs(result: LinkResult): Generator<LinkedPair> {
  const d = result.deterministic;
  for (let k = 0; k < d.count; k++) {
    yield {
      left: d.left[k] as number,
      right: d.right[k] as number,
      tier: d.tier[k] as 1 | 2 | 3 | 4,
      rule: d.rules[d.ruleIndex[k] as number]?.rule ?? '',
      weight: null,
      probability: null,
    };
  }
  const c = result.candidates;
  if (c === null) return;
  for (let k = 0; k < c.count; k++) {
    yield {
      left: c.left[k] as number,
      right: c.right[k] as number,
      tier: 5,
      rule: 'fellegi-sunter',
      weight: c.weight[k] as number,
      probability: c.probability[k] as number,
    };
  }
}
