import { afterEach, describe, expect, it, vi } from 'vitest';
import { RefusalTally } from '../../../shared/api/refusal-tally.js';

describe('the tally of calls refused over the unauthenticated limit', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the first refusal at once, then one count a minute while they go on, and nothing once they stop', () => {
    vi.useFakeTimers();
    const reports: number[] = [];
    const tally = new RefusalTally((refused) => reports.push(refused));
    tally.count();
    expect(reports).toEqual([1]);
    for (let i = 0; i < 5_000; i++) tally.count();
    expect(reports, 'a line for each refusal').toEqual([1]);
    vi.advanceTimersByTime(60_000);
    expect(reports).toEqual([1, 5_000]);
    for (let i = 0; i < 7; i++) tally.count();
    vi.advanceTimersByTime(60_000);
    expect(reports).toEqual([1, 5_000, 7]);
    // A quiet minute ends the spell, and the next refusal is reported at once again.
    vi.advanceTimersByTime(60_000);
    vi.advanceTimersByTime(600_000);
    expect(reports).toEqual([1, 5_000, 7]);
    tally.count();
    expect(reports).toEqual([1, 5_000, 7, 1]);
  });
});
