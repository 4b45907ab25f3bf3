import type { Worker } from 'node:worker_threads';
import type { CompiledQuery, Kysely } from 'kysely';
import { siblingModule, startModuleWorker } from '../threads/module-worker.js';
import type { Database } from './schema.js';

/**
 * Where the API's lookups run their read queries: a compiled query in, its rows out. Always
 * committed data: never inside a transaction of the caller's.
 */
export interface ReadQueries {
  execute<Row>(query: CompiledQuery<Row>): Promise<Row[]>;
  close(): Promise<void>;
}

/** Reads on the store's own connection or pool (SQL Server, SQLite in memory). */
export function readsOn(db: Kysely<Database>): ReadQueries {
  return {
    execute: async <Row>(query: CompiledQuery<Row>) => (await db.executeQuery(query)).rows,
    close: async () => {},
  };
}

export interface ReadThreadOptions {
  file: string;
  busyTimeoutMs: number;
}

export interface ReadRequest {
  sql: string;
  parameters: readonly unknown[];
}

/** Rows as structured clone delivers them: BLOB columns arrive as Uint8Array, not Buffer. */
export type ReadReply = { ok: true; rows: unknown[] } | { ok: false; code: string };

export class ReadQueryError extends Error {
  constructor(readonly code: string) {
    super(`A read query failed (${code})`);
    this.name = 'ReadQueryError';
  }
}

/**
 * The lookups' reads on SQLite, on a worker thread with a read-only connection of its own. Why:
 * the store's one connection is held for the length of every transaction — a snapshot load or a
 * linkage pass holds it for seconds to minutes — and every lookup waited for it; in WAL mode a
 * second connection reads the last committed state beside a writer, so lookups go on answering
 * during an import. The query work also leaves the event loop, which goes on with the next
 * requests meanwhile.
 */
export class SqliteReadThread implements ReadQueries {
  private worker: Worker | undefined;
  /** Replies come back in the order the queries were sent. */
  private readonly awaiting: { resolve: (reply: ReadReply) => void; reject: (err: Error) => void }[] = [];

  constructor(
    private readonly file: string,
    private readonly busyTimeoutMs = 5000,
  ) {}

  async execute<Row>(query: CompiledQuery<Row>): Promise<Row[]> {
    const worker = this.started();
    worker.ref();
    try {
      const reply = await new Promise<ReadReply>((resolve, reject) => {
        this.awaiting.push({ resolve, reject });
        worker.postMessage({ sql: query.sql, parameters: query.parameters } satisfies ReadRequest);
      });
      if (!reply.ok) throw new ReadQueryError(reply.code);
      return reply.rows as Row[];
    } finally {
      // An idle reader must not keep a finished process (a CLI, a test file) alive.
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
    const worker = startModuleWorker(siblingModule('read-thread', import.meta.url), {
      workerData: { file: this.file, busyTimeoutMs: this.busyTimeoutMs } satisfies ReadThreadOptions,
    });
    worker.on('message', (reply: ReadReply) => this.awaiting.shift()?.resolve(reply));
    const lost = (err: Error) => {
      // The next query starts a new thread; those sent to this one have failed.
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.awaiting.splice(0)) waiting.reject(err);
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`read thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }
}
