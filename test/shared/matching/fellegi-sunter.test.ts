import { describe, expect, it } from 'vitest';
import { Pseudonymiser } from '../../../shared/domain/pseudonymise.js';
import { canonicaliseColumns } from '../../../shared/matching/canonicalise.js';
import { FIELDS, LEVELS, PATTERN_COUNT, RADIX } from '../../../shared/matching/comparison.js';
import { estimateParameters, matchProbability } from '../../../shared/matching/fellegi-sunter.js';
import { linkBatches } from '../../../shared/matching/link.js';
import { generateLinkageScenario } from '../../../shared/synthetic/sources.js';

const pseudonymiser = new Pseudonymiser({ keyVersion: 't', key: Buffer.alloc(32, 1) });

describe('Fellegi–Sunter estimation', () => {
  it('recovers known m, u and match share from a histogram drawn from them', () => {
    // Two fields matter here; the others are always missing (level 5), which carries no evidence.
    const lambda = 0.2;
    const m = [
      [0.85, 0.05, 0.05, 0.03, 0.02],
      [0.8, 0.1, 0.04, 0.03, 0.03],
    ];
    const u = [
      [0.02, 0.01, 0.02, 0.05, 0.9],
      [0.01, 0.01, 0.01, 0.07, 0.9],
    ];
    const third = [0.9, 0.02, 0.03, 0.05];
    const thirdU = [0.01, 0.01, 0.03, 0.95];
    const counts = new Float64Array(PATTERN_COUNT);
    const pairs = 1_000_000;
    for (let a = 0; a < 5; a++) {
      for (let b = 0; b < 5; b++) {
        for (let c = 0; c < 4; c++) {
          const p = lambda * (m[0]![a]! * m[1]![b]! * third[c]!) + (1 - lambda) * (u[0]![a]! * u[1]![b]! * thirdU[c]!);
          counts[a + RADIX * (b + RADIX * (c + RADIX * 5))] = p * pairs;
        }
      }
    }
    const estimate = estimateParameters(counts, { maxIterations: 2000, tolerance: 1e-9 });
    expect(estimate.converged).toBe(true);
    expect(estimate.lambda).toBeCloseTo(lambda, 3);
    expect(estimate.m[0]![0]).toBeCloseTo(0.85, 2);
    expect(estimate.u[1]![4]).toBeCloseTo(0.9, 2);
  });

  it('learns, without labels, that agreement is likelier for matches than for non-matches', () => {
    const s = generateLinkageScenario({ seed: 11, profile: 'typical', leftSize: 3000 });
    const left = canonicaliseColumns(s.left, pseudonymiser).batch;
    const right = canonicaliseColumns(s.right, pseudonymiser).batch;
    const result = linkBatches(left, right);
    const parameters = result.candidates?.parameters;
    expect(parameters).toBeDefined();
    FIELDS.forEach((field, f) => {
      const mf = parameters!.m[f]!;
      const uf = parameters!.u[f]!;
      // Exact agreement: far likelier for the same person.
      expect(mf[0]!, field).toBeGreaterThan(10 * uf[0]!);
      // Complete disagreement: likelier for different people.
      const last = LEVELS[field].length - 1;
      expect(uf[last]!, field).toBeGreaterThan(mf[last]!);
      expect(mf.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    });
  });

  it('turns weight and prior into a probability', () => {
    expect(matchProbability(0, 0.5)).toBeCloseTo(0.5);
    expect(matchProbability(10, 1 / 1025)).toBeCloseTo(0.5, 2);
    expect(matchProbability(30, 1e-6)).toBeGreaterThan(0.99);
  });
});
