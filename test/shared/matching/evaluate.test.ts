import { describe, expect, it } from 'vitest';
import { evaluatePairs, formatEvaluation } from '../../../shared/matching/evaluate.js';
import { soundex } from '../../../shared/matching/soundex.js';

describe('evaluatePairs', () => {
  it('scores each tier against all true pairs and counts a repeated pair once, at its best tier', () => {
    // Left records 0..3 are persons A B C D; right 0..2 are A B X.
    const evaluation = evaluatePairs(
      { count: 4, left: [0, 1, 0, 2], right: [0, 1, 0, 2], tier: [1, 5, 3, 3] },
      ['A', 'B', 'C', 'D'],
      ['A', 'B', 'X'],
    );
    expect(evaluation.truePairs).toBe(2);
    expect(evaluation.byTier.get(1)).toMatchObject({ predicted: 1, truePositives: 1, precision: 1, recall: 0.5 });
    expect(evaluation.byTier.get(3)).toMatchObject({ predicted: 1, truePositives: 0, precision: 0 });
    expect(evaluation.automatic).toMatchObject({ predicted: 2, truePositives: 1, precision: 0.5, recall: 0.5 });
    expect(evaluation.overall).toMatchObject({ predicted: 3, truePositives: 2, recall: 1 });
    expect(evaluation.overall.f1).toBeCloseTo((2 * (2 / 3) * 1) / (2 / 3 + 1));
    expect(formatEvaluation(evaluation)).toContain('tiers 1-5');
  });
});

describe('soundex', () => {
  it('codes names as the National Archives variant does', () => {
    expect(soundex('ROBERT')).toBe('R163');
    expect(soundex('RUPERT')).toBe('R163');
    expect(soundex('ASHCRAFT')).toBe('A261');
    expect(soundex('TYMCZAK')).toBe('T522');
    expect(soundex('PFISTER')).toBe('P236');
    expect(soundex('SMYTH')).toBe(soundex('SMITH'));
    expect(soundex('')).toBe('');
  });
});
