import { describe, expect, it } from 'vitest';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { canonicaliseColumns } from '../../../shared/matching/canonicalise.js';
import { PersonClusters } from '../../../shared/matching/cluster.js';
import { evaluatePairs } from '../../../shared/matching/evaluate.js';
import { linkBatches, linkedPairs, predictedPairs } from '../../../shared/matching/link.js';
import { generateLinkageScenario } from '../../../shared/synthetic/sources.js';

const pseudonymiser = new Pseudonymiser({ keyVersion: 't', key: Buffer.alloc(32, 2) });

function run(profile: 'clean' | 'hard', size: number, seed: number) {
  const s = generateLinkageScenario({ seed, profile, leftSize: size });
  const left = canonicaliseColumns(s.left, pseudonymiser).batch;
  const right = canonicaliseColumns(s.right, pseudonymiser).batch;
  const result = linkBatches(left, right);
  return {
    s,
    left,
    right,
    result,
    evaluation: evaluatePairs(predictedPairs(result), s.left.personIndex, s.right.personIndex),
  };
}

describe('linking generated sources', () => {
  it("on the 'hard' profile, automatic links are ≥ 99.9% precise and tiers 1–5 find ≥ 99% of true pairs", () => {
    const { evaluation } = run('hard', 3000, 2024);
    expect(evaluation.truePairs).toBe(2400);
    expect(evaluation.automatic.precision).toBeGreaterThanOrEqual(0.999);
    expect(evaluation.overall.recall).toBeGreaterThanOrEqual(0.99);
  });

  it("on the 'clean' profile, tiers 1–4 alone find nearly every true pair", () => {
    const { evaluation } = run('clean', 2000, 7);
    expect(evaluation.automatic.precision).toBeGreaterThanOrEqual(0.999);
    expect(evaluation.automatic.recall).toBeGreaterThan(0.97);
  });

  it('marks tier-5 pairs as candidates with a weight and a probability, and links as tiers 1–4', () => {
    const { result } = run('hard', 1000, 5);
    const pairs = [...linkedPairs(result)];
    const candidates = pairs.filter((p) => p.tier === 5);
    expect(candidates.length).toBeGreaterThan(0);
    for (const p of candidates) {
      expect(p.rule).toBe('fellegi-sunter');
      expect(p.probability).toBeGreaterThanOrEqual(0.02);
      expect(p.probability).toBeLessThanOrEqual(1);
      expect(Number.isFinite(p.weight)).toBe(true);
    }
    for (const p of pairs.filter((x) => x.tier < 5)) expect(p.probability).toBeNull();
  });

  it('clusters automatic links into persons with consistent hard identifiers', () => {
    const { left, right, result, s } = run('hard', 1500, 9);
    const clusters = new PersonClusters([left, right]);
    for (const p of linkedPairs(result)) if (p.tier <= 4) clusters.merge(0, p.left, 1, p.right, p.tier);
    // Each source holds a person once, so a correct person has at most two records.
    let merged = 0;
    for (let i = 0; i < left.size; i++) if (clusters.clusterSize(0, i) > 1) merged++;
    expect(merged).toBe(result.deterministic.count - clusters.refused.length);
    let wrong = 0;
    for (let k = 0; k < result.deterministic.count; k++) {
      const i = result.deterministic.left[k] as number;
      const j = result.deterministic.right[k] as number;
      if (clusters.clusterOf(0, i) === clusters.clusterOf(1, j) && s.left.personIndex[i] !== s.right.personIndex[j])
        wrong++;
    }
    expect(wrong).toBeLessThanOrEqual(1);
  });
});
