import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import { CronExpressionParser } from 'cron-parser';
import type { TimerRegistration } from '../functions/registry.js';
import { errorKind, type Logger } from '../shared/logging.js';
// A monthly schedule is waited out in steps of at most this.
import { LONGEST_TIMER_MS } from '../shared/timer-limit.js';

const { InvocationContext } = functions;

const NAMES = /\b(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC|SUN|MON|TUE|WED|THU|FRI|SAT)\b/g;

/**
 * When a schedule next fires after `from`: NCRONTAB's six fields (seconds first), read in UTC as
 * the Functions host reads them by default. cron-parser reads the same six-field form; a
 * schedule it cannot read stops the host at start-up rather than running at the wrong times.
 */
export function nextRunOf(schedule: string, from: Date): Date {
  const fields = schedule.trim().split(/\s+/);
  // NCRONTAB has no L, W, # or ?: cron-parser reads them, the Functions host would refuse them.
  // Day and month names (JUL, WED) may hold the letters, so they are set aside first.
  const syntax = schedule.toUpperCase().replace(NAMES, '');
  if (fields.length !== 6 || /[LW#?]/.test(syntax))
    throw new Error(`The local host cannot run the timer schedule ${schedule}`);
  try {
    return CronExpressionParser.parse(schedule, { currentDate: from, tz: 'UTC', strict: false }).next().toDate();
  } catch {
    throw new Error(`The local host cannot run the timer schedule ${schedule}`);
  }
}

/** The local host's timer trigger: each registered schedule, fired at its times. */
export class TimerRunner {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  /** Timers with a run in flight, and whether an occurrence came due meanwhile. */
  private readonly inFlight = new Map<string, { pastDue: boolean }>();
  /** Retry pauses under way: stop() ends them rather than waiting out the delay. */
  private readonly wakers = new Set<() => void>();
  private stopped = false;

  constructor(
    private readonly registrations: readonly TimerRegistration[],
    private readonly logger: Logger,
  ) {}

  start(): void {
    // Every schedule is read before any is armed, so one that cannot be read stops the start.
    const first = this.registrations.map((r) => [r, nextRunOf(r.schedule, new Date())] as const);
    for (const [registration, at] of first) this.arm(registration, at);
  }

  private arm(registration: TimerRegistration, at: Date): void {
    if (this.stopped) return;
    const wait = Math.min(Math.max(0, at.getTime() - Date.now()), LONGEST_TIMER_MS);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (Date.now() < at.getTime()) return this.arm(registration, at);
      const next = nextRunOf(registration.schedule, new Date(Math.max(Date.now(), at.getTime())));
      this.arm(registration, next);
      // As the Functions host does, a timer never runs twice at once: an occurrence that comes
      // due while a run is going waits for it, and the missed ones run once, as past due
      // (found by a review: retention, the checkpointer and the export ran over themselves).
      const flight = this.inFlight.get(registration.name);
      if (flight !== undefined) flight.pastDue = true;
      else void this.fire(registration, next, false);
    }, wait);
    this.timers.add(timer);
  }

  private fire(registration: TimerRegistration, next: Date, isPastDue: boolean): Promise<unknown> {
    const flight = { pastDue: false };
    this.inFlight.set(registration.name, flight);
    // A failed run is tried again under the registration's retry policy, as the Functions host
    // does; the retries belong to the run, so the next occurrence still waits for them.
    const run = (async () => {
      const maxRetryCount = registration.retry?.maxRetryCount ?? 0;
      for (let retryCount = 0; ; retryCount++) {
        const invocationId = randomUUID();
        const context = new InvocationContext({
          invocationId,
          functionName: registration.name,
          options: { trigger: { type: 'timerTrigger', name: 'timer' } },
          retryContext: registration.retry ? { retryCount, maxRetryCount } : undefined,
        });
        try {
          // Awaited inside async code, a handler that throws at once fails like one that rejects.
          await registration.handler(
            {
              isPastDue,
              schedule: { adjustForDST: true },
              scheduleStatus: { last: '', next: next.toISOString(), lastUpdated: '' },
            },
            context,
          );
          return;
        } catch (err: unknown) {
          this.logger.warn('localhost.timer.failed', {
            functionName: registration.name,
            invocationId,
            retryCount,
            error: errorKind(err),
          });
        }
        if (retryCount >= maxRetryCount || !(await this.pause(registration.retry?.delayInterval ?? 0))) return;
      }
    })();
    this.running.add(run);
    void run.finally(() => {
      this.running.delete(run);
      this.inFlight.delete(registration.name);
      if (flight.pastDue && !this.stopped) void this.fire(registration, next, true);
    });
    return run;
  }

  /** Wait `ms` (in setTimeout's steps); false when the runner stops meanwhile. */
  private async pause(ms: number): Promise<boolean> {
    let left = ms;
    do {
      if (this.stopped) return false;
      const step = Math.min(left, LONGEST_TIMER_MS);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.wakers.delete(resolve);
          resolve();
        }, step);
        this.timers.add(timer);
        this.wakers.add(resolve);
      });
      left -= step;
    } while (left > 0);
    return !this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const wake of this.wakers) wake();
    this.wakers.clear();
    await Promise.all(this.running);
  }
}
