import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import type { TimerRegistration } from '../functions/registry.js';
import { errorKind, type Logger } from '../shared/logging.js';

const { InvocationContext } = functions;

/**
 * The local host's timer trigger. It understands the schedules lintel uses — "every N
 * seconds/minutes/hours" in NCRONTAB form (`*\/N * * * * *`, `0 *\/N * * * *`, `0 0 *\/N * * *`)
 * — and refuses others at start-up rather than running them at the wrong times.
 */
export function intervalOf(schedule: string): number {
  const fields = schedule.trim().split(/\s+/);
  const every = (f: string | undefined) => (f === '*' ? 1 : /^\*\/(\d+)$/.exec(f ?? '')?.[1]);
  if (fields.length === 6 && fields.slice(3).every((f) => f === '*')) {
    if (fields[0] === '0' && fields[1] === '0' && every(fields[2])) return Number(every(fields[2])) * 3_600_000;
  }
  if (fields.length === 6 && fields.slice(2).every((f) => f === '*')) {
    if (fields[0] === '0' && every(fields[1])) return Number(every(fields[1])) * 60_000;
    if (fields[1] === '*' && every(fields[0])) return Number(every(fields[0])) * 1000;
  }
  throw new Error(`The local host cannot run the timer schedule ${schedule}`);
}

export class TimerRunner {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<unknown>>();

  constructor(
    private readonly registrations: readonly TimerRegistration[],
    private readonly logger: Logger,
  ) {}

  start(): void {
    for (const registration of this.registrations) {
      const interval = intervalOf(registration.schedule);
      this.timers.push(setInterval(() => this.fire(registration, interval), interval));
    }
  }

  fire(registration: TimerRegistration, interval = intervalOf(registration.schedule)): Promise<unknown> {
    const invocationId = randomUUID();
    const context = new InvocationContext({
      invocationId,
      functionName: registration.name,
      options: { trigger: { type: 'timerTrigger', name: 'timer' } },
    });
    const run = Promise.resolve(
      registration.handler(
        {
          isPastDue: false,
          schedule: { adjustForDST: true },
          scheduleStatus: { last: '', next: new Date(Date.now() + interval).toISOString(), lastUpdated: '' },
        },
        context,
      ),
    ).catch((err: unknown) =>
      this.logger.warn('localhost.timer.failed', {
        functionName: registration.name,
        invocationId,
        error: errorKind(err),
      }),
    );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.running);
  }
}
