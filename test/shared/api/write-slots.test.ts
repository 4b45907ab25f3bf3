import { describe, expect, it } from 'vitest';
import { WriteSlots } from '../../../shared/api/write-slots.js';

describe('WriteSlots', () => {
  it('lets at most its size of changes hold a transaction at once, and every one finishes, in order', async () => {
    const slots = new WriteSlots(2);
    let inFlight = 0;
    let most = 0;
    const order: number[] = [];
    const work = (n: number) =>
      slots.run(async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        inFlight--;
        order.push(n);
        return n;
      });
    const results = await Promise.all(Array.from({ length: 7 }, (_, n) => work(n)));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('gives the slot back when a change fails', async () => {
    const slots = new WriteSlots(1);
    await expect(slots.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(slots.run(() => Promise.resolve('next'))).resolves.toBe('next');
  });
});
