/**
 * A token bucket per client: `perMinute` requests a minute, with bursts up to the same number.
 * In memory and per instance — on a scaled-out Function App each instance enforces its own
 * share, which bounds a runaway client without a shared store on the hot path.
 *
 * A bucket that has filled up again is the same as none, so once there are more than
 * {@link SWEEP_ABOVE} buckets the full ones are dropped: every application in the tenant that can
 * get a token for the API can make one, and without this they would stay for the process's life.
 * The sweep visits every bucket, so it runs at most once in {@link SWEEP_EVERY_MS}: keyed by
 * address (calls without a valid token), new keys come as fast as a caller with a block of
 * addresses sends, and a sweep for each would cost the event loop the square of them.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private sweptAt = -Infinity;

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when the request may go ahead, else the seconds to wait. */
  take(key: string): number {
    const now = this.now();
    const rate = this.perMinute / 60_000;
    // A clock stepped back does not put the next sweep off.
    const sweepDue = now - this.sweptAt >= SWEEP_EVERY_MS || now < this.sweptAt;
    if (this.buckets.size > SWEEP_ABOVE && sweepDue && !this.buckets.has(key)) this.sweep(now, rate);
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    // Never less for the clock stepping back (an NTP correction): a client is not charged for it.
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + Math.max(0, now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / rate / 1000));
  }

  /** How many clients have a bucket (for tests and the sweep's bound). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number, rate: number): void {
    this.sweptAt = now;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + Math.max(0, now - bucket.at) * rate >= this.perMinute) this.buckets.delete(key);
    }
  }
}

/** Buckets kept before the full ones are swept: well above the partners' client ids. */
const SWEEP_ABOVE = 1000;
/** The least time between two sweeps. */
const SWEEP_EVERY_MS = 1000;
