import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '../threads/module-worker.js';

export interface WalCheckpointOptions {
  files: string[];
  intervalMs: number;
}

/** What the thread says: its connections are open (it checkpoints from now on), or closed on request. */
export type WalCheckpointThreadMessage = 'open' | 'closed';

/** How long after losing its thread the checkpointer starts another. */
const RESTART_DELAY_MS = 1000;

/**
 * Checkpoints the store's SQLite files (the store and its access log) from a thread of its own.
 * Why: left to SQLite, a checkpoint runs inside whichever commit pushes the WAL past 1,000
 * pages, copying the pages into the database file and syncing it before that commit returns.
 * For the access log that stalled the batch, and every lookup waiting on it (bench:api:
 * 2,000–2,200 req/s with p99 43–44 ms with automatic checkpoints, 2,350–2,450 with p99 32–34 ms
 * without); for an import it added seconds to the commit. The connections that write are opened
 * with automatic checkpoints off, and this thread checkpoints each file a few times a second.
 * A process that ends closes its connections, and the last connection to a file checkpoints it.
 *
 * The writers rely on this thread: without it their WAL files would grow for as long as the
 * process runs. So a thread that is lost (it failed, or was stopped from outside) is started
 * again a second later, for as long as the store is open.
 *
 * Closing waits for the thread to close its connections only once the store has heard they are
 * open. A thread not yet heard from (still loading through tsx from source, 0.3–0.5 s) is stopped
 * at once: a store opened and closed straight away (a test, a CLI that refuses its arguments) no
 * longer waits for a thread to load only to tell it to stop. Stopping it loses nothing: if it had
 * in fact opened its connections and checkpointed while the main thread was busy, a checkpoint
 * only copies committed pages into the database, which a process's last connection to the file
 * does again as it closes.
 */
export class WalCheckpointer {
  private worker: Worker;
  /** Settles when the current thread has exited. */
  private exited: Promise<unknown>;
  /** Whether the current thread has opened its connections. */
  private opened = false;
  private closed = false;
  private restartTimer: NodeJS.Timeout | undefined;
  /** Threads started after one was lost; for an operator's or a test's eyes. */
  restarts = 0;

  constructor(
    private readonly files: string[],
    private readonly intervalMs = 250,
  ) {
    [this.worker, this.exited] = this.start();
  }

  private start(): [Worker, Promise<unknown>] {
    const worker = startModuleWorker(siblingModule('wal-checkpoint-thread', import.meta.url), {
      workerData: { files: this.files, intervalMs: this.intervalMs } satisfies WalCheckpointOptions,
    });
    // Its failure is followed by its exit, which starts the next.
    worker.on('error', () => undefined);
    worker.on('message', (message: WalCheckpointThreadMessage) => {
      if (message === 'open' && worker === this.worker) this.opened = true;
    });
    // A thread that only keeps files tidy must not keep a finished process alive: unref'd after
    // the listener, which refs the thread's port again.
    worker.unref();
    const exited = once(worker, 'exit');
    void exited.then(() => {
      if (this.closed || worker !== this.worker) return;
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        if (this.closed) return;
        this.restarts++;
        this.opened = false;
        [this.worker, this.exited] = this.start();
      }, RESTART_DELAY_MS);
      this.restartTimer.unref();
    });
    return [worker, exited];
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    const worker = this.worker;
    if (this.opened) {
      // Waited for: the process stays up until the thread has closed its files (it is unref'd).
      worker.ref();
      const closed = new Promise<void>((resolve) =>
        worker.on('message', (message: WalCheckpointThreadMessage) => {
          if (message === 'closed') resolve();
        }),
      );
      worker.postMessage('close');
      await Promise.race([closed, this.exited]);
    }
    // One stopped while opening them, or before its 'open' came, loses them with the thread:
    // better-sqlite3 closes a thread's connections as the thread goes.
    await worker.terminate();
  }
}
