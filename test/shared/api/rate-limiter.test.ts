import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../../shared/api/rate-limiter.js';

describe('rate limiter', () => {
  it('lets a client burst to its minute, then makes it wait for the bucket to refill', () => {
    let now = 0;
    const limiter = new RateLimiter(60, () => now);
    for (let i = 0; i < 60; i++) expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(1);
    expect(limiter.take('b')).toBe(0);
    now += 1000;
    expect(limiter.take('a')).toBe(0);
  });

  it('drops buckets that have filled again once there are many, and keeps those still drawing', () => {
    let now = 0;
    const limiter = new RateLimiter(10, () => now);
    for (let i = 0; i < 10; i++) limiter.take('busy');
    for (let i = 0; i < 1500; i++) limiter.take(`once-${i}`);
    expect(limiter.size).toBeGreaterThan(1000);
    // A minute on, every bucket has filled again; the next new client sweeps them.
    now += 60_000;
    limiter.take('busy');
    for (let i = 0; i < 9; i++) limiter.take('busy');
    limiter.take('newcomer');
    expect(limiter.size).toBeLessThanOrEqual(2);
    // The busy client's bucket was kept, and is empty: it still waits.
    expect(limiter.take('busy')).toBeGreaterThan(0);
  });

  it('costs a flood of new keys no more than the keys themselves', () => {
    // Keys are addresses for calls without a valid token, which a caller holding a block of
    // IPv6 addresses makes as many of as it likes. Each new one above the sweep's bound swept
    // every bucket: 40,000 new keys within a second took seconds of the event loop.
    const limiter = new RateLimiter(60, () => 0);
    const started = performance.now();
    for (let i = 0; i < 40_000; i++) limiter.take(`address-${i}`);
    expect(performance.now() - started).toBeLessThan(1500);
    expect(limiter.size).toBe(40_000);
  });

  it('does not charge a client for the clock stepping back (an NTP correction)', () => {
    let now = 1_800_000_000_000;
    const limiter = new RateLimiter(1200, () => now);
    expect(limiter.take('client-a')).toBe(0);
    now -= 60_000;
    expect(limiter.take('client-a')).toBe(0);
  });
});
