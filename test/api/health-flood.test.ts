import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestHost, type TestHost } from '../support/test-host.js';

/**
 * `/api/health` takes no token, so no limit reaches it: each probe of it read the store and asked
 * Blob Storage after every container, and a flood of them, from anyone, drew on the connections
 * and the storage account the partners' lookups need (found by a defect hunt).
 */
describe('health under a flood of probes', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a burst of anonymous probes from one check of the store, and still sees it go down', async () => {
    const { dialect } = t.host.services.store;
    const ping = vi.spyOn(dialect, 'ping');
    const burst = await Promise.all(Array.from({ length: 40 }, () => fetch(`${t.url}/api/health`)));
    expect(burst.map((res) => res.status)).toEqual(Array<number>(40).fill(200));
    expect(ping.mock.calls.length).toBeLessThanOrEqual(2);

    // A store that stops answering is reported within a few seconds, as before.
    ping.mockRejectedValue(new Error('store unreachable'));
    await vi.waitFor(
      async () => {
        const res = await fetch(`${t.url}/api/health`);
        expect(res.status).toBe(503);
        expect(await res.json()).toMatchObject({ status: 'down', checks: { store: 'down' } });
      },
      { timeout: 5000, interval: 250 },
    );
    ping.mockRestore();
  });
});
