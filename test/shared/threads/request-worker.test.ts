import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RequestWorker, type AfterLoss } from '../../../shared/threads/request-worker.js';

const echoThread = (afterLoss: AfterLoss = 'restart') =>
  new RequestWorker<string, string>(new URL('./echo-thread.ts', import.meta.url), {}, 'echo', afterLoss);

/**
 * The access log's writer, the store's read connection and the verification's leaf hasher talk
 * to their threads through RequestWorker: one reply a request, in order; a lost thread fails what
 * was sent to it (so a log entry fails closed), and the next request gets a new thread, or, for
 * a thread whose state the requests build on (the hasher's tree), fails too.
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

  it('with afterLoss fail, fails every later request with the loss and starts no new thread', async () => {
    const thread = echoThread('fail');
    expect(await thread.request('a')).toBe('echo:a');
    await expect(thread.request('exit')).rejects.toThrow(/echo thread exited \(3\)/);
    await expect(thread.request('b')).rejects.toThrow(/echo thread exited \(3\)/);
    await thread.close();
    await expect(thread.request('c')).rejects.toThrow(/echo thread exited \(3\)/);
  });

  it('warmed, starts its thread at once, and answers on that thread', async () => {
    const thread = echoThread();
    thread.warm();
    const started = (thread as unknown as { current?: { worker: { threadId: number } } }).current?.worker.threadId;
    expect(started).toBeGreaterThan(0);
    expect(await thread.request('a')).toBe('echo:a');
    expect((thread as unknown as { current?: { worker: { threadId: number } } }).current?.worker.threadId).toBe(
      started,
    );
    await thread.close();
  });

  it('warmed and idle, keeps no process alive (nor do the access log writer and spare row worker a host warms)', async () => {
    const script = fileURLToPath(new URL('./warm-and-return.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    expect(out).toBe('warmed\n');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  }, 40_000);

  it('with afterLoss fail, fails requests made after close', async () => {
    const thread = echoThread('fail');
    expect(await thread.request('a')).toBe('echo:a');
    await thread.close();
    await expect(thread.request('b')).rejects.toThrow(/echo thread closed/);
  });
});
