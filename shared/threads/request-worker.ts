import type { TransferListItem, Worker, WorkerOptions } from 'node:worker_threads';
import { startModuleWorker } from './module-worker.js';

interface Waiting<Reply> {
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
}

interface Thread<Reply> {
  worker: Worker;
  /** The thread answers each message with one reply, in the order the messages came. */
  awaiting: Waiting<Reply>[];
}

/**
 * What follows the loss of a thread: `restart` starts a new one for the next request (a thread
 * that keeps no state between requests); `fail` fails every later request with the loss (a
 * thread whose state the requests build on, which a fresh thread would silently lack).
 */
export type AfterLoss = 'restart' | 'fail';

/**
 * A module worker (module-worker.ts) that answers each request with one reply, in order. It is
 * started on first use; when it is lost, the requests sent to it fail, and then it is started
 * afresh or stays failed ({@link AfterLoss}). It keeps the process alive only while a request
 * waits: an idle thread must not keep a finished CLI or test file running.
 */
export class RequestWorker<Request, Reply> {
  private current: Thread<Reply> | undefined;
  /** With `fail`: why every request from now on fails. */
  private failure: Error | undefined;

  constructor(
    private readonly moduleUrl: URL,
    private readonly options: WorkerOptions,
    /** For the error a lost thread's requests fail with. */
    private readonly name: string,
    private readonly afterLoss: AfterLoss = 'restart',
  ) {}

  /** `transfer`: buffers of the message handed to the thread rather than copied (unusable here after). */
  request(message: Request, transfer?: readonly TransferListItem[]): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const thread = this.started();
    thread.worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      thread.awaiting.push({ resolve, reject });
      thread.worker.postMessage(message, transfer);
    }).finally(() => {
      if (thread.awaiting.length === 0) thread.worker.unref();
    });
  }

  /**
   * Starts the thread now rather than on the first request, so that request does not wait for
   * it to load; the idle thread keeps nobody alive.
   */
  warm(): void {
    if (this.failure) return;
    const thread = this.started();
    if (thread.awaiting.length === 0) thread.worker.unref();
  }

  async close(): Promise<void> {
    if (this.afterLoss === 'fail') this.failure ??= new Error(`${this.name} thread closed`);
    const thread = this.current;
    this.current = undefined;
    await thread?.worker.terminate();
  }

  private started(): Thread<Reply> {
    if (this.current) return this.current;
    const thread: Thread<Reply> = { worker: startModuleWorker(this.moduleUrl, this.options), awaiting: [] };
    thread.worker.on('message', (reply: Reply) => thread.awaiting.shift()?.resolve(reply));
    const lost = (err: Error) => {
      if (this.current === thread) this.current = undefined;
      if (this.afterLoss === 'fail') this.failure ??= err;
      for (const waiting of thread.awaiting.splice(0)) waiting.reject(err);
    };
    thread.worker.on('error', lost);
    thread.worker.on('exit', (code) => lost(new Error(`${this.name} thread exited (${code})`)));
    this.current = thread;
    return thread;
  }
}
