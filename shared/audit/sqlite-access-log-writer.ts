import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '../threads/module-worker.js';
import type { AccessLogEntry } from './entry-codec.js';
import type { AccessLogRecord, AccessLogWriter } from './access-log.js';

/** What the thread is started with. */
export interface AccessLogThreadOptions {
  file: string;
  busyTimeoutMs: number;
}

/**
 * One group-commit batch. Posted to the thread as JSON text: one string is copied across
 * threads for much less than the structured clone of many small objects.
 */
export interface AccessLogBatch {
  records: AccessLogRecord[];
  time: string;
}

export type AccessLogBatchResult = { ok: true; firstSeq: number } | { ok: false; code: string; name: string };

/** The batch failed in the database; `code` is SQLite's (no values, no SQL). */
export class AccessLogWriteError extends Error {
  constructor(readonly code: string) {
    super(`The access-log batch was not written (${code})`);
    this.name = 'AccessLogWriteError';
  }
}

/**
 * The access log's writer on SQLite: batches are committed on a worker thread with its own
 * connection. Why: an access-log commit is synchronous in better-sqlite3 and waits for fsync
 * (synchronous=FULL, since the entry must be durable before the response leaves); on the API's
 * event loop that wait, the inserts and the leaf hashing were about a third of a lookup's time,
 * and every request in flight stood still during each commit. On the thread the event loop
 * goes on parsing, deciding and matching the next requests, which then join the next batch.
 *
 * The busy timeout is long because the other writer is this process's own main connection, and
 * an import or a linkage pass holds its write lock for the length of one transaction (tens of
 * seconds for a million-row snapshot); a lookup waiting behind it before had waited just as long
 * for the single connection. Past the timeout the batch fails, and its callers fail closed.
 */
export class SqliteAccessLogWriter implements AccessLogWriter {
  /**
   * The thread takes the batches in the order sent and numbers each when it commits it, so the
   * next batch can wait in its queue while one commits: the thread never waits for the event
   * loop to notice a reply before it starts the next fsync.
   */
  readonly batchesInFlight = 2;
  private worker: Worker | undefined;
  /** Replies come back in the order the batches were sent. */
  private readonly awaiting: { resolve: (result: AccessLogBatchResult) => void; reject: (err: Error) => void }[] = [];

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs = 30_000,
  ) {}

  async write(records: AccessLogRecord[], time: string): Promise<AccessLogEntry[]> {
    const worker = this.started();
    worker.ref();
    try {
      const result = await new Promise<AccessLogBatchResult>((resolve, reject) => {
        this.awaiting.push({ resolve, reject });
        worker.postMessage(JSON.stringify({ records, time } satisfies AccessLogBatch));
      });
      if (!result.ok) throw new AccessLogWriteError(result.code);
      return records.map((record, i) => ({ ...record, seq: result.firstSeq + i, time }));
    } finally {
      // An idle writer must not keep a finished process (a CLI, a test file) alive.
      if (this.awaiting.length === 0) this.worker?.unref();
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = startModuleWorker(siblingModule('access-log-thread', import.meta.url), {
      workerData: { file: this.file, busyTimeoutMs: this.busyTimeoutMs } satisfies AccessLogThreadOptions,
    });
    worker.on('message', (result: AccessLogBatchResult) => this.awaiting.shift()?.resolve(result));
    const lost = (err: Error) => {
      // The next batch starts a new thread; those sent to this one have failed.
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.awaiting.splice(0)) waiting.reject(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`access-log thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}
