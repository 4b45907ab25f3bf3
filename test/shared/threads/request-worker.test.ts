import { describe, expect, it } from 'vitest';
import { RequestWorker } from '../../../shared/threads/request-worker.js';

const echoThread = () => new RequestWorker<string, string>(new URL('./echo-thread.ts', import.meta.url), {}, 'echo');

/**
 * The access log's writer and the store's read connection both talk to their threads through
 * RequestWorker: one reply a request, in order; a lost thread fails what was sent to it (so a
 * log entry fails closed) and the next request gets a new thread.
 */
describe('a thread answering requests in order', () => {
  it('gives each request its own reply, also when many are in flight', async () => {
    const thread = echoThread();
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => thread.request(String(i))));
    expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => `echo:${i}`));
    await thread.close();
  });

  it('fails the requests sent to a thread that is lost, and answers the next on a new thread', async () => {
    const thread = echoThread();
    expect(await thread.request('a')).toBe('echo:a');
    const lost = [thread.request('exit'), thread.request('b')];
    for (const request of lost) await expect(request).rejects.toThrow(/echo thread exited \(3\)/);
    expect(await thread.request('c')).toBe('echo:c');
    await thread.close();
  });
});
