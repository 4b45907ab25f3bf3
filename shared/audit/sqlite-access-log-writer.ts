import { siblingModule } from '../threads/module-worker.js';
import { RequestWorker } from '../threads/request-worker.js';
import { numberedEntries } from './access-log-rows.js';
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
 * The log is a file of its own (accessLogFileOf), so the store's imports never hold its lock;
 * the busy timeout covers other processes appending to it (the CLIs) and a DPO's long read.
 * Past the timeout the batch fails, and its callers fail closed.
 */
export class SqliteAccessLogWriter implements AccessLogWriter {
  /**
   * The thread takes the batches in the order sent and numbers each when it commits it, so the
   * next batch can wait in its queue while one commits: the thread never waits for the event
   * loop to notice a reply before it starts the next fsync.
   */
  readonly batchesInFlight = 2;
  private readonly thread: RequestWorker<string, AccessLogBatchResult>;

  constructor(file: string, busyTimeoutMs = 30_000) {
    this.thread = new RequestWorker(
      siblingModule('access-log-thread', import.meta.url),
      { workerData: { file, busyTimeoutMs } satisfies AccessLogThreadOptions },
      'access-log',
    );
  }

  warm(): void {
    this.thread.warm();
  }

  async write(records: AccessLogRecord[], time: string): Promise<AccessLogEntry[]> {
    const result = await this.thread.request(JSON.stringify({ records, time } satisfies AccessLogBatch));
    if (!result.ok) throw new AccessLogWriteError(result.code);
    return numberedEntries(records, result.firstSeq, time);
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}
