/**
 * Fellegi–Sunter match weights estimated without labels.
 *
 * m[f][l] is P(level l on field f | match) and u[f][l] the same for non-matches; a pair's weight
 * is the sum over fields of log2(m/u), missing values adding nothing. Estimation follows the
 * approach of Splink (UK Ministry of Justice), which avoids the classic failure of a single EM
 * over blocked pairs — converging on "same household" instead of "same person", because
 * blocking fills the candidate set with relatives and neighbours:
 * - u from random pairs of records, among which matches are negligibly rare;
 * - m by expectation–maximisation within each blocking pass, over the fields that pass did not
 *   block on (those are the fields whose non-match distribution in the block is still u), with
 *   u held; each field's m is then the average over the passes that estimated it, weighted by
 *   their expected number of matches.
 */

import { FIELD_COUNT, LEVELS, FIELDS, MISSING, PATTERN_COUNT, RADIX } from './comparison.js';

export interface FellegiSunterParameters {
  /** Share of matches among the pairs the parameters were estimated on. */
  readonly lambda: number;
  /** m[field][level] and u[field][level], levels as in {@link LEVELS}. */
  readonly m: readonly Float64Array[];
  readonly u: readonly Float64Array[];
  readonly iterations: number;
  readonly converged: boolean;
}

export interface EmOptions {
  readonly maxIterations?: number;
  /** Stop when no parameter moves by more than this (default 1e-6). */
  readonly tolerance?: number;
  readonly initialLambda?: number;
  /** Fields to estimate; the others are ignored as if missing (default: all). */
  readonly activeFields?: readonly boolean[];
  /** Hold u at these values and estimate only m and the match share. */
  readonly fixedU?: readonly Float64Array[];
}

const levelCounts = FIELDS.map((f) => LEVELS[f].length);

/** Levels of every pattern, decoded once: PATTERN_COUNT x FIELD_COUNT. */
const PATTERN_LEVELS: Uint8Array = (() => {
  const levels = new Uint8Array(PATTERN_COUNT * FIELD_COUNT);
  for (let p = 0; p < PATTERN_COUNT; p++) {
    let rest = p;
    for (let f = 0; f < FIELD_COUNT; f++) {
      levels[p * FIELD_COUNT + f] = rest % RADIX;
      rest = Math.floor(rest / RADIX);
    }
  }
  return levels;
})();

/** Starting m: agreement likely for matches. */
function initialM(count: number): Float64Array {
  const p = new Float64Array(count);
  p[0] = 0.8;
  for (let l = 1; l < count; l++) p[l] = 0.2 / (count - 1);
  return p;
}

/** Starting u: disagreement likely for non-matches. */
function initialU(count: number): Float64Array {
  const p = new Float64Array(count);
  for (let l = 0; l < count; l++) p[l] = l === count - 1 ? 0.8 : 0.2 / (count - 1);
  return p;
}

/** Probability floor, so that a level never seen in one class cannot veto a pair outright. */
const FLOOR = 1e-5;

/**
 * EM over a histogram of comparison patterns (index = packed pattern, value = pair count): a
 * two-class mixture with independent fields.
 */
export function estimateParameters(patternCounts: Float64Array, options: EmOptions = {}): FellegiSunterParameters {
  const maxIterations = options.maxIterations ?? 200;
  const tolerance = options.tolerance ?? 1e-6;
  const active = options.activeFields ?? FIELDS.map(() => true);
  let lambda = options.initialLambda ?? 0.1;
  const m = levelCounts.map((n) => initialM(n));
  const u =
    options.fixedU !== undefined
      ? options.fixedU.map((a) => Float64Array.from(a))
      : levelCounts.map((n) => initialU(n));

  const used: number[] = [];
  for (let p = 0; p < PATTERN_COUNT; p++) if ((patternCounts[p] ?? 0) > 0) used.push(p);
  const mAcc = levelCounts.map((n) => new Float64Array(n));
  const uAcc = levelCounts.map((n) => new Float64Array(n));

  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations && !converged) {
    iterations++;
    for (const a of mAcc) a.fill(0);
    for (const a of uAcc) a.fill(0);
    let matchMass = 0;
    let total = 0;
    for (const p of used) {
      const count = patternCounts[p] as number;
      let pm = lambda;
      let pu = 1 - lambda;
      const base = p * FIELD_COUNT;
      for (let f = 0; f < FIELD_COUNT; f++) {
        const l = PATTERN_LEVELS[base + f] as number;
        if (l === MISSING || active[f] !== true) continue;
        pm *= (m[f] as Float64Array)[l] as number;
        pu *= (u[f] as Float64Array)[l] as number;
      }
      const g = pm / (pm + pu);
      matchMass += count * g;
      total += count;
      for (let f = 0; f < FIELD_COUNT; f++) {
        const l = PATTERN_LEVELS[base + f] as number;
        if (l === MISSING || active[f] !== true) continue;
        (mAcc[f] as Float64Array)[l] = ((mAcc[f] as Float64Array)[l] as number) + count * g;
        (uAcc[f] as Float64Array)[l] = ((uAcc[f] as Float64Array)[l] as number) + count * (1 - g);
      }
    }
    if (total === 0) break;
    let change = Math.abs(matchMass / total - lambda);
    lambda = matchMass / total;
    for (let f = 0; f < FIELD_COUNT; f++) {
      if (active[f] !== true) continue;
      change = Math.max(change, normaliseInto(m[f] as Float64Array, mAcc[f] as Float64Array));
      if (options.fixedU === undefined) {
        change = Math.max(change, normaliseInto(u[f] as Float64Array, uAcc[f] as Float64Array));
      }
    }
    converged = change < tolerance;
  }
  return { lambda, m, u, iterations, converged };
}

/** u from the level counts of random pairs (index = packed pattern), floored. */
export function uFromRandomPairs(patternCounts: Float64Array): Float64Array[] {
  const acc = levelCounts.map((n) => new Float64Array(n));
  for (let p = 0; p < PATTERN_COUNT; p++) {
    const count = patternCounts[p] as number;
    if (count === 0) continue;
    for (let f = 0; f < FIELD_COUNT; f++) {
      const l = PATTERN_LEVELS[p * FIELD_COUNT + f] as number;
      if (l !== MISSING) (acc[f] as Float64Array)[l] = ((acc[f] as Float64Array)[l] as number) + count;
    }
  }
  return acc.map((a) => {
    const u = new Float64Array(a.length);
    normaliseInto(u, a);
    return u;
  });
}

export interface PassEstimate {
  readonly parameters: FellegiSunterParameters;
  readonly activeFields: readonly boolean[];
  /** Pairs the pass produced; times lambda, its expected matches. */
  readonly pairs: number;
}

/**
 * One set of parameters from per-pass estimates: each field's m averaged over the passes that
 * estimated it, weighted by their expected matches; u as given.
 */
export function combinePassEstimates(
  passes: readonly PassEstimate[],
  u: readonly Float64Array[],
): FellegiSunterParameters {
  const m = levelCounts.map((n) => new Float64Array(n));
  const weight = new Float64Array(FIELD_COUNT);
  let iterations = 0;
  let converged = true;
  let lambdaSum = 0;
  let pairSum = 0;
  for (const pass of passes) {
    const expectedMatches = pass.parameters.lambda * pass.pairs;
    iterations = Math.max(iterations, pass.parameters.iterations);
    converged &&= pass.parameters.converged;
    lambdaSum += expectedMatches;
    pairSum += pass.pairs;
    for (let f = 0; f < FIELD_COUNT; f++) {
      if (pass.activeFields[f] !== true) continue;
      weight[f] = (weight[f] as number) + expectedMatches;
      const source = pass.parameters.m[f] as Float64Array;
      const target = m[f] as Float64Array;
      for (let l = 0; l < target.length; l++)
        target[l] = (target[l] as number) + expectedMatches * (source[l] as number);
    }
  }
  for (let f = 0; f < FIELD_COUNT; f++) {
    const target = m[f] as Float64Array;
    const w = weight[f] as number;
    if (w > 0) for (let l = 0; l < target.length; l++) target[l] = (target[l] as number) / w;
    else target.set(initialM(target.length));
  }
  return {
    lambda: pairSum === 0 ? 0 : lambdaSum / pairSum,
    m,
    u: u.map((a) => Float64Array.from(a)),
    iterations,
    converged,
  };
}

/** Writes acc / sum(acc), floored, into target; returns the largest change. */
function normaliseInto(target: Float64Array, acc: Float64Array): number {
  let sum = 0;
  for (let l = 0; l < acc.length; l++) sum += Math.max(acc[l] as number, FLOOR);
  let change = 0;
  for (let l = 0; l < acc.length; l++) {
    const next = Math.max(acc[l] as number, FLOOR) / sum;
    change = Math.max(change, Math.abs(next - (target[l] as number)));
    target[l] = next;
  }
  return change;
}

/** log2 Bayes factor of each level of each field; 0 for a missing value. */
export function levelWeights(parameters: FellegiSunterParameters): Float64Array[] {
  return parameters.m.map((m, f) => {
    const u = parameters.u[f] as Float64Array;
    const w = new Float64Array(RADIX);
    for (let l = 0; l < m.length; l++) w[l] = Math.log2((m[l] as number) / (u[l] as number));
    return w;
  });
}

/** Sum of level weights of every pattern. */
export function patternWeights(parameters: FellegiSunterParameters): Float64Array {
  const w = levelWeights(parameters);
  const out = new Float64Array(PATTERN_COUNT);
  for (let p = 0; p < PATTERN_COUNT; p++) {
    let s = 0;
    for (let f = 0; f < FIELD_COUNT; f++)
      s += (w[f] as Float64Array)[PATTERN_LEVELS[p * FIELD_COUNT + f] as number] as number;
    out[p] = s;
  }
  return out;
}

/** Posterior match probability of a pair with total weight `weight` under prior `lambda`. */
export function matchProbability(weight: number, lambda: number): number {
  const priorWeight = Math.log2(lambda / (1 - lambda));
  return 1 / (1 + 2 ** -(priorWeight + weight));
}

/**
 * The share of matches among all `totalPairs` pairs, given the weights of the candidate pairs
 * (pairs outside the candidates are taken as non-matches): EM on the prior alone, m and u held.
 * Used on the pairs the deterministic tiers left, where matches are far rarer than overall.
 */
export function estimatePrior(weights: Float64Array, count: number, totalPairs: number, initial = 1e-6): number {
  if (count === 0 || totalPairs <= 0) return Math.min(initial, 0.5);
  let lambda = Math.min(initial, 0.5);
  for (let k = 0; k < 200; k++) {
    let sum = 0;
    for (let i = 0; i < count; i++) sum += matchProbability(weights[i] as number, lambda);
    const next = Math.min(Math.max(sum / totalPairs, 1e-12), 0.5);
    if (Math.abs(next - lambda) <= lambda * 1e-6) return next;
    lambda = next;
  }
  return lambda;
}
