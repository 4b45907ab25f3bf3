import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '../threads/module-worker.js';

export interface WalCheckpointOptions {
  files: string[];
  intervalMs: number;
}

/**
 * Checkpoints the store's SQLite files (the store and its access log) from a thread of its own.
 * Why: left to SQLite, a checkpoint runs inside whichever commit pushes the WAL past 1,000
 * pages, copying the pages into the database file and syncing it before that commit returns.
 * For the access log that stalled the batch, and every lookup waiting on it (bench:api:
 * 2,000–2,200 req/s with p99 43–44 ms with automatic checkpoints, 2,350–2,450 with p99 32–34 ms
 * without); for an import it added seconds to the commit. The connections that write are opened
 * with automatic checkpoints off, and this thread checkpoints each file a few times a second.
 * A process that ends closes its connections, and the last connection to a file checkpoints it.
 */
export class WalCheckpointer {
  private readonly worker: Worker;

  constructor(files: string[], intervalMs = 250) {
    this.worker = startModuleWorker(siblingModule('wal-checkpoint-thread', import.meta.url), {
      workerData: { files, intervalMs } satisfies WalCheckpointOptions,
    });
    // A thread that only keeps files tidy must not keep a finished process alive.
    this.worker.unref();
    this.worker.on('error', () => undefined);
  }

  async close(): Promise<void> {
    this.worker.postMessage('close');
    await Promise.race([once(this.worker, 'message'), once(this.worker, 'exit')]);
    await this.worker.terminate();
  }
}
