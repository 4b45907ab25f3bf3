/**
 * Precision, recall and F1 of predicted pairs against a known truth, per tier and overall.
 * Recall is against every true pair (each person present in both sources gives one pair per
 * combination of their records), so a tier's recall is its share of all true pairs.
 */

export interface PredictedPairs {
  readonly count: number;
  readonly left: ArrayLike<number>;
  readonly right: ArrayLike<number>;
  readonly tier: ArrayLike<number>;
}

export interface Metrics {
  readonly predicted: number;
  readonly truePositives: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface Evaluation {
  readonly truePairs: number;
  readonly byTier: ReadonlyMap<number, Metrics>;
  /** Tiers 1–4: the automatic links. */
  readonly automatic: Metrics;
  /** Tiers 1–5: automatic links plus review candidates. */
  readonly overall: Metrics;
}

function metrics(predicted: number, truePositives: number, truePairs: number): Metrics {
  const precision = predicted === 0 ? 1 : truePositives / predicted;
  const recall = truePairs === 0 ? 1 : truePositives / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { predicted, truePositives, precision, recall, f1 };
}

/**
 * `leftPerson[i]` / `rightPerson[j]` name the person behind each record (any string or number;
 * undefined when unknown, which makes the record's pairs count as false). A pair predicted twice
 * counts once, under its most reliable (lowest) tier.
 */
export function evaluatePairs(
  pairs: PredictedPairs,
  leftPerson: ArrayLike<string | number | undefined>,
  rightPerson: ArrayLike<string | number | undefined>,
): Evaluation {
  const rightCount = new Map<string | number, number>();
  for (let j = 0; j < rightPerson.length; j++) {
    const p = rightPerson[j];
    if (p !== undefined) rightCount.set(p, (rightCount.get(p) ?? 0) + 1);
  }
  let truePairs = 0;
  for (let i = 0; i < leftPerson.length; i++) {
    const p = leftPerson[i];
    if (p !== undefined) truePairs += rightCount.get(p) ?? 0;
  }

  const best = new Map<number, number>();
  const width = rightPerson.length;
  for (let k = 0; k < pairs.count; k++) {
    const id = (pairs.left[k] as number) * width + (pairs.right[k] as number);
    const tier = pairs.tier[k] as number;
    const seen = best.get(id);
    if (seen === undefined || tier < seen) best.set(id, tier);
  }
  const predicted = new Map<number, number>();
  const correct = new Map<number, number>();
  for (const [id, tier] of best) {
    const i = Math.floor(id / width);
    const j = id - i * width;
    predicted.set(tier, (predicted.get(tier) ?? 0) + 1);
    const a = leftPerson[i];
    if (a !== undefined && a === rightPerson[j]) correct.set(tier, (correct.get(tier) ?? 0) + 1);
  }
  const byTier = new Map<number, Metrics>();
  let autoPredicted = 0;
  let autoCorrect = 0;
  let allPredicted = 0;
  let allCorrect = 0;
  for (const tier of [...predicted.keys()].sort((a, b) => a - b)) {
    const n = predicted.get(tier) ?? 0;
    const c = correct.get(tier) ?? 0;
    byTier.set(tier, metrics(n, c, truePairs));
    if (tier <= 4) {
      autoPredicted += n;
      autoCorrect += c;
    }
    allPredicted += n;
    allCorrect += c;
  }
  return {
    truePairs,
    byTier,
    automatic: metrics(autoPredicted, autoCorrect, truePairs),
    overall: metrics(allPredicted, allCorrect, truePairs),
  };
}

/** A plain-text table of an evaluation, one line per tier, for CLIs and benchmarks. */
export function formatEvaluation(evaluation: Evaluation): string {
  const pct = (x: number): string => (x * 100).toFixed(2).padStart(9);
  const row = (label: string, m: Metrics): string =>
    `${label.padEnd(14)}${String(m.predicted).padStart(9)}${String(m.truePositives).padStart(9)}${pct(m.precision)}${pct(m.recall)}${pct(m.f1)}`;
  const lines = [
    `${'tier'.padEnd(14)}${'pairs'.padStart(9)}${'correct'.padStart(9)}${'prec%'.padStart(9)}${'recall%'.padStart(9)}${'F1%'.padStart(9)}`,
  ];
  for (const [tier, m] of evaluation.byTier) lines.push(row(`tier ${tier}`, m));
  lines.push(row('tiers 1-4', evaluation.automatic));
  lines.push(row('tiers 1-5', evaluation.overall));
  lines.push(`true pairs: ${evaluation.truePairs}`);
  return lines.join('\n');
}
