import type { Logger } from '../logging.js';
import { errorKind } from '../logging.js';
import { BatchedInsert } from '../store/batched-insert.js';
import type { Store } from '../store/database.js';
import { isUniqueViolation } from '../store/unique-violation.js';
import { ACCESS_LOG_COLUMNS, numberedEntries, subjectIdRows, toRow } from './access-log-rows.js';
import type { AccessLogEntry } from './entry-codec.js';
import { SqliteAccessLogWriter } from './sqlite-access-log-writer.js';

/** An entry as a caller states it; the log assigns the sequence number and time. */
export type AccessLogRecord = Omit<AccessLogEntry, 'seq' | 'time'>;

export class AccessLogUnavailableError extends Error {
  constructor(options?: ErrorOptions) {
    super('The access log could not be written', options);
    this.name = 'AccessLogUnavailableError';
  }
}

interface Pending {
  record: AccessLogRecord;
  resolve: (entry: AccessLogEntry) => void;
  reject: (err: Error) => void;
}

/** Commits one batch of entries, assigning their sequence numbers, and returns them. */
export interface AccessLogWriter {
  /** How many batches may be committing at once; each still takes its own sequence numbers. */
  readonly batchesInFlight: number;
  write(records: AccessLogRecord[], time: string): Promise<AccessLogEntry[]>;
  /** Gets ready to write (a thread started) before the first batch asks for it, where there is anything to get ready. */
  warm?(): void;
  close(): Promise<void>;
}

const MAX_BATCH = 2000;
const SEQ_CONFLICT_RETRIES = 5;

/**
 * The access log writer. Appends are durable before `append` resolves (the caller's response
 * waits for it), and concurrent appends share one transaction — group commit — so a busy API
 * pays one fsync per batch rather than per request. A failed batch rejects every caller in it,
 * which makes each of them fail closed.
 */
/**
 * Whether an entry may be appended while a transaction of the store's is open. Not on SQLite in
 * memory: there the log is written on the store's one connection, which that transaction holds,
 * so an entry about a change follows its commit instead.
 */
export function entriesWithinStoreTransactions(store: Store): boolean {
  return !(store.sqlite !== undefined && store.accessLogFile === undefined);
}

export class AccessLog {
  private readonly queue: Pending[] = [];
  private batchesSent = 0;
  private sendScheduled = false;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly writer: AccessLogWriter;

  constructor(
    store: Store,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.writer =
      store.accessLogFile === undefined
        ? new StoreAccessLogWriter(store)
        : new SqliteAccessLogWriter(store.accessLogFile);
  }

  append(record: AccessLogRecord): Promise<AccessLogEntry> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      if (!this.sendScheduled) {
        this.sendScheduled = true;
        // Let appends from the same tick join the batch.
        setImmediate(() => {
          this.sendScheduled = false;
          this.send();
          // A commit that needs no turn of the event loop (SQLite in memory) may have sent and
          // committed the append this was scheduled for before it ran: then nothing is left to
          // send, and drain's waiters are woken here or never.
          this.wakeIfIdle();
        });
      }
    });
  }

  /**
   * Readies the writer now (on SQLite, starts its thread), so that the first entry — a host's
   * first lookup or import — does not wait about a tenth of a second for it.
   */
  warm(): void {
    this.writer.warm?.();
  }

  /** Resolves once every append queued so far is committed or failed. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.batchesSent > 0 || this.sendScheduled) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  /** Drains, then releases the writer's own resources (the SQLite writer's thread). */
  async close(): Promise<void> {
    await this.drain();
    await this.writer.close();
  }

  /** Whatever is queued goes as one batch when the writer has a free slot; what arrives meanwhile forms the next. */
  private send(): void {
    while (this.queue.length > 0 && this.batchesSent < this.writer.batchesInFlight) {
      this.batchesSent++;
      void this.commit(this.queue.splice(0, MAX_BATCH)).finally(() => {
        this.batchesSent--;
        this.send();
        this.wakeIfIdle();
      });
    }
  }

  /** Wakes drain's waiters once nothing is queued, committing or about to be sent. */
  private wakeIfIdle(): void {
    if (this.queue.length === 0 && this.batchesSent === 0 && !this.sendScheduled) {
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      const entries = await this.writer.write(
        batch.map((p) => p.record),
        this.now().toISOString(),
      );
      batch.forEach((p, i) => p.resolve(entries[i]!));
    } catch (err) {
      this.logger.error('audit.append-failed', { entries: batch.length, error: errorKind(err) });
      const failure = new AccessLogUnavailableError({ cause: err });
      for (const p of batch) p.reject(failure);
    }
  }
}

/**
 * The writer on the store's own connection (SQL Server, and SQLite in memory): the batch is
 * one transaction that reads the last sequence number and inserts after it, with the rows of
 * access_log_subject_id for its entries about several people.
 */
class StoreAccessLogWriter implements AccessLogWriter {
  // Two transactions on the store would race for the same sequence numbers.
  readonly batchesInFlight = 1;

  constructor(private readonly store: Store) {}

  async write(records: AccessLogRecord[], time: string): Promise<AccessLogEntry[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.db.transaction().execute(async (trx) => {
          const last = await trx
            .selectFrom('access_log')
            .select((eb) => eb.fn.max('seq').as('max'))
            .executeTakeFirst();
          const first = Number(last?.max ?? 0) + 1;
          const entries = numberedEntries(records, first, time);
          const engine = this.store.dialect.engine;
          const log = new BatchedInsert(engine, 'access_log', ACCESS_LOG_COLUMNS);
          for (const row of entries.map(toRow)) {
            log.push(ACCESS_LOG_COLUMNS.map((column) => row[column]));
            if (log.full) await log.flush(trx, false);
          }
          await log.flush(trx, true);
          const subjectIds = new BatchedInsert(engine, 'access_log_subject_id', ['person_id', 'seq']);
          for (const row of subjectIdRows(entries)) {
            subjectIds.push([row.person_id, row.seq]);
            if (subjectIds.full) await subjectIds.flush(trx, false);
          }
          await subjectIds.flush(trx, true);
          return entries;
        });
      } catch (err) {
        // Another instance took the same sequence numbers first; read the new maximum and retry.
        if (attempt < SEQ_CONFLICT_RETRIES && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  async close(): Promise<void> {}
}
