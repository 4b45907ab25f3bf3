/**
 * Counts the calls refused for going over the limit on calls without a valid token
 * (request-pipeline.ts). They leave no access-log entry, and a log line each would grow the app
 * log as fast as the flood that the limit is there to absorb; but whoever runs the service must
 * still see that one is under way. So the first refusal after a quiet spell is reported at once,
 * and those after it as one count each `everyMs` while they go on: a flood of any size costs a
 * line a minute. Counts only: the addresses are personal data (client-address.ts).
 */
export class RefusalTally {
  private unreported = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly report: (refused: number) => void,
    private readonly everyMs = 60_000,
  ) {}

  count(): void {
    if (this.timer !== undefined) {
      this.unreported += 1;
      return;
    }
    this.report(1);
    this.schedule();
  }

  private schedule(): void {
    // Never what keeps a process, or a test run, alive.
    this.timer = setTimeout(() => this.flush(), this.everyMs);
    this.timer.unref?.();
  }

  private flush(): void {
    const refused = this.unreported;
    this.unreported = 0;
    this.timer = undefined;
    if (refused === 0) return;
    this.report(refused);
    this.schedule();
  }
}
