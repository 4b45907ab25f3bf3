import type { Worker, WorkerOptions } from 'node:worker_threads';
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
 * A module worker (module-worker.ts) that answers each request with one reply, in order. It is
 * started on first use, and started afresh after it is lost, when the requests sent to the lost
 * thread fail. It keeps the process alive only while a request waits: an idle thread must not
 * keep a finished CLI or test file running.
 */
export class RequestWorker<Request, Reply> {
  private current: Thread<Reply> | undefined;

  constructor(
    private readonly moduleUrl: URL,
    private readonly options: WorkerOptions,
    /** For the error a lost thread's requests fail with. */
    private readonly name: string,
  ) {}

  request(message: Request): Promise<Reply> {
    const thread = this.started();
    thread.worker.ref();
    return new Promise<Reply>((resolve, reject) => {
      thread.awaiting.push({ resolve, reject });
      thread.worker.postMessage(message);
    }).finally(() => {
      if (thread.awaiting.length === 0) thread.worker.unref();
    });
  }

  async close(): Promise<void> {
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
      for (const waiting of thread.awaiting.splice(0)) waiting.reject(err);
    };
    thread.worker.on('error', lost);
    thread.worker.on('exit', (code) => lost(new Error(`${this.name} thread exited (${code})`)));
    this.current = thread;
    return thread;
  }
}
