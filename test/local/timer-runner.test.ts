import { describe, expect, it } from 'vitest';
import { registrations } from '../../functions/index.js';
import { intervalOf } from '../../local/timer-runner.js';

describe("the local host's timer schedules", () => {
  it('reads every N seconds, minutes and hours', () => {
    expect(intervalOf('*/10 * * * * *')).toBe(10_000);
    expect(intervalOf('0 */30 * * * *')).toBe(1_800_000);
    expect(intervalOf('0 0 * * * *')).toBe(3_600_000);
    expect(intervalOf('0 0 */6 * * *')).toBe(21_600_000);
  });

  it('refuses a schedule it would run at the wrong times', () => {
    expect(() => intervalOf('0 30 1 * * *')).toThrow(/cannot run/);
    expect(() => intervalOf('0 0 0 * * 1')).toThrow(/cannot run/);
  });

  it('runs every timer lintel registers', () => {
    const timers = registrations().filter((r) => r.kind === 'timer');
    expect(timers.map((t) => t.name)).toContain('exportCurated');
    for (const timer of timers) expect(intervalOf(timer.schedule)).toBeGreaterThan(0);
  });
});
