import { describe, expect, it } from 'vitest';
import type { TimerRegistration } from '../../functions/registry.js';
import { registrations } from '../../functions/index.js';
import { nextRunOf, TimerRunner } from '../../local/timer-runner.js';
import { createLogger } from '../../shared/logging.js';

const at = (iso: string) => new Date(iso);

// The cases run at once (describe.concurrent): each waits on the real timers of a runner and
// handlers of its own, idle nearly all the time, and one after another they took some 15 s.

describe.concurrent("the local host's timers", () => {
  it('fire at the NCRONTAB times, in UTC, seconds first', () => {
    const from = at('2026-12-02T02:00:03.000Z');
    expect(nextRunOf('*/10 * * * * *', from)).toEqual(at('2026-12-02T02:00:10.000Z'));
    expect(nextRunOf('0 */30 * * * *', from)).toEqual(at('2026-12-02T02:30:00.000Z'));
    expect(nextRunOf('0 0 * * * *', from)).toEqual(at('2026-12-02T03:00:00.000Z'));
    expect(nextRunOf('0 0 6 1 * *', from)).toEqual(at('2027-01-01T06:00:00.000Z'));
    expect(nextRunOf('0 30 9 * * 1', from)).toEqual(at('2026-12-07T09:30:00.000Z'));
    // Names, as NCRONTAB allows them, whatever letters they hold.
    expect(nextRunOf('0 30 9 * JUL WED', from)).toEqual(at('2027-07-07T09:30:00.000Z'));
  });

  it('refuse a schedule they cannot read rather than run it at the wrong times', () => {
    expect(() => nextRunOf('0 6 1 * *', new Date())).toThrow(/cannot run/);
    expect(() => nextRunOf('every day', new Date())).toThrow(/cannot run/);
    // cron-parser reads these; NCRONTAB has none of them.
    expect(() => nextRunOf('0 0 6 L * *', new Date())).toThrow(/cannot run/);
    expect(() => nextRunOf('0 0 6 1 * 1#2', new Date())).toThrow(/cannot run/);
  });

  it('read every schedule lintel registers, the monthly planning export among them', () => {
    const timers = registrations().filter((r) => r.kind === 'timer');
    expect(timers.find((t) => t.name === 'exportCurated')?.schedule).toBe('0 0 6 1 * *');
    for (const timer of timers) expect(nextRunOf(timer.schedule, new Date()).getTime()).toBeGreaterThan(Date.now());
  });

  /** A timer firing every second whose handler calls `after` at each call; `twice` settles on the second. */
  function everySecond(after: () => void = () => undefined) {
    let calls = 0;
    let second!: () => void;
    const twice = new Promise<void>((resolve) => (second = resolve));
    const registration: TimerRegistration = {
      kind: 'timer',
      name: 'tick',
      schedule: '* * * * * *',
      handler: () => {
        if (++calls === 2) second();
        after();
      },
    };
    return { registration, twice, calls: () => calls };
  }

  it('keep a schedule whose handler throws at once, logging the failure', async () => {
    const lines: string[] = [];
    const timer = everySecond(() => {
      throw new RangeError('broken');
    });
    const runner = new TimerRunner(
      [timer.registration],
      createLogger('warn', (line) => lines.push(line)),
    );
    runner.start();
    await timer.twice;
    await runner.stop();
    expect(lines.some((l) => l.includes('localhost.timer.failed') && l.includes('RangeError'))).toBe(true);
  });

  it('call the handler at each time until stopped', async () => {
    const timer = everySecond();
    const runner = new TimerRunner([timer.registration], createLogger('error'));
    runner.start();
    await timer.twice;
    await runner.stop();
    const after = timer.calls();
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(timer.calls()).toBe(after);
  });
});

/**
 * The Functions host never starts a timer function while its previous run is still going (the
 * schedule's next occurrence waits, and is then flagged isPastDue). The local host should not
 * run enforceRetention / auditCheckpoint / exportCurated twice at once either.
 */
describe.concurrent("the local host's timers, one run at a time", () => {
  it('do not start a run while the previous run of the same timer is still going', async () => {
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const registration: TimerRegistration = {
      kind: 'timer',
      name: 'slow',
      schedule: '* * * * * *',
      handler: async () => {
        calls++;
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 2500));
        active--;
      },
    };
    const runner = new TimerRunner([registration], createLogger('error'));
    runner.start();
    await new Promise((resolve) => setTimeout(resolve, 4200));
    await runner.stop();
    expect(calls).toBeGreaterThan(0);
    expect(maxActive, 'runs of one timer overlapped').toBe(1);
  }, 15_000);
});

/**
 * The monthly planning export runs at 06:00 on the 1st. A run that failed (the store or Key Vault
 * briefly unreachable) was not tried again until the next month, so Power BI read last month's
 * counts for a month. The Functions host retries a failed timer run under the function's retry
 * policy; the local host follows the same policy.
 */
describe.concurrent('a failed timer run, tried again under its retry policy', () => {
  /** A six-field schedule that fires once, `ms` from now (then not for a year). */
  function onceIn(ms: number): string {
    const t = new Date(Date.now() + ms);
    return `${t.getUTCSeconds()} ${t.getUTCMinutes()} ${t.getUTCHours()} ${t.getUTCDate()} ${t.getUTCMonth() + 1} *`;
  }

  it('the monthly export is tried again on the day it failed, within the same release day', () => {
    const exportCurated = registrations().find(
      (r): r is TimerRegistration => r.kind === 'timer' && r.name === 'exportCurated',
    );
    const retry = exportCurated?.retry;
    expect(retry, 'exportCurated has no retry policy').toBeDefined();
    expect(retry!.maxRetryCount).toBeGreaterThan(0);
    // From 06:00 UTC every retry starts before midnight, so a retry rewrites the day's release.
    expect(retry!.maxRetryCount * retry!.delayInterval).toBeLessThan(18 * 60 * 60 * 1000);
  });

  it('runs the handler again after the delay, with its retry count, until it succeeds', async () => {
    const retryCounts: (number | undefined)[] = [];
    const registration: TimerRegistration = {
      kind: 'timer',
      name: 'flaky',
      schedule: onceIn(1000),
      retry: { strategy: 'fixedDelay', maxRetryCount: 3, delayInterval: 200 },
      handler: (_timer, context) => {
        retryCounts.push(context.retryContext?.retryCount);
        if (retryCounts.length < 2) throw new Error('store unreachable');
      },
    };
    const runner = new TimerRunner([registration], createLogger('error'));
    runner.start();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await runner.stop();
    expect(retryCounts).toEqual([0, 1]);
  }, 10_000);

  it('gives up after maxRetryCount retries, and a timer without a policy is not retried', async () => {
    let flakyCalls = 0;
    let plainCalls = 0;
    const schedule = onceIn(1000);
    const runner = new TimerRunner(
      [
        {
          kind: 'timer',
          name: 'alwaysFails',
          schedule,
          retry: { strategy: 'fixedDelay', maxRetryCount: 2, delayInterval: 100 },
          handler: () => {
            flakyCalls++;
            throw new Error('down');
          },
        },
        {
          kind: 'timer',
          name: 'noPolicy',
          schedule,
          handler: () => {
            plainCalls++;
            throw new Error('down');
          },
        },
      ],
      createLogger('error'),
    );
    runner.start();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await runner.stop();
    expect(flakyCalls).toBe(3);
    expect(plainCalls).toBe(1);
  }, 10_000);
});
