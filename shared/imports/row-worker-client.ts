import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { errorKind } from '../logging.js';
import { siblingModule, startModuleWorker } from '../threads/module-worker.js';
import type { ExtractFormat } from './extract-format.js';
import type { ExtractRecord, ReaderLimits } from './extract-records.js';
import type { PreparedRows } from './prepared-rows.js';
import { FileRejection } from './reasons.js';
import type { PreparedBatch, RowPlan } from './row-preparation.js';
import type { CheckedWorkbook } from './zip-directory.js';
import { CHUNKS_AHEAD, type FromRowWorker, type ComparisonKey, type ToRowWorker } from './row-worker-protocol.js';

/**
 * A file's rows prepared on a worker thread (row-worker.ts), so that reading, validating and
 * pseudonymising the next rows takes the second core while this thread writes the store.
 *
 * The thread is started as soon as the import knows the file is large or a workbook (a workbook
 * is always read here, for the private directory below: {@link startRowWorker}),
 * so that loading its modules overlaps the hash pass; it is given the file once the run is
 * claimed ({@link RowWorker.prepare}). The bytes go over in chunks of {@link CHUNK_BYTES}, copied once into a buffer of their own
 * and transferred, not cloned. A worker that fails, throws or exits before it is done fails the
 * load (the snapshot transaction rolls back; the run is redone on retry); a file the worker's
 * reader refuses comes back as the same {@link FileRejection} an in-thread read of a CSV would give.
 *
 * The thread's temporary files (exceljs's copy of a worksheet, raw cells: xlsx-records.ts) go in
 * a private directory made here, removed by {@link RowWorker.close} once the thread is gone:
 * `terminate()` runs none of the thread's own clean-up. A process killed mid-read leaves the
 * directory behind; the next process's first row worker sweeps it ({@link sweepStaleTempDirs}).
 */

const CHUNK_BYTES = 256 * 1024;

export interface RowWorkerInput {
  /** The file's bytes (read at most {@link CHUNKS_AHEAD} chunks ahead of the worker). */
  readonly bytes: AsyncIterable<Uint8Array>;
  readonly format: ExtractFormat;
  readonly readerLimits: ReaderLimits;
  readonly xlsx?: CheckedWorkbook;
  readonly keyVersion: string;
  readonly key: Uint8Array;
}

/** The row worker stopped without finishing; carries the error's kind, never its message. */
export class RowWorkerFailed extends Error {
  constructor(readonly kind: string) {
    super(`Row worker failed: ${kind}`);
    this.name = 'RowWorkerFailed';
  }
}

/**
 * Removes the thread's directory of temporary files and everything in it. Each file is emptied
 * first: a descriptor the terminated thread left open on one would otherwise keep its blocks
 * after the unlink. Best effort, never throws: it runs after the load's outcome is decided.
 */
async function removeTempDir(dir: string): Promise<void> {
  await emptyFiles(dir);
  await rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

const TEMP_DIR_PREFIX = 'lintel-row-worker-';
/** Older than any import runs: a directory this old belongs to a process that is gone. */
const STALE_TEMP_DIR_MS = 6 * 3600_000;
let sweptThisProcess = false;

/**
 * Removes row workers' temporary directories left by a process that was killed (an instance
 * recycled or timed out mid-import) before it could remove them: they hold raw cells of a
 * workbook. Run once per process, when its first row worker starts; best effort.
 */
export async function sweepStaleTempDirs(root = tmpdir(), now = Date.now()): Promise<number> {
  let removed = 0;
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isDirectory() || !entry.name.startsWith(TEMP_DIR_PREFIX)) continue;
    const path = join(root, entry.name);
    const modified = await stat(path).then(
      (s) => s.mtimeMs,
      () => now,
    );
    if (now - modified < STALE_TEMP_DIR_MS) continue;
    await removeTempDir(path);
    removed++;
  }
  return removed;
}

async function emptyFiles(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const path = join(dir, entry.name);
    // Never through a link: only what is in the directory itself.
    if (entry.isFile()) await truncate(path, 0).catch(() => undefined);
    else if (entry.isDirectory()) await emptyFiles(path);
  }
}

/** A thread started ahead of the next import ({@link warmRowWorker}); taken by it. */
let spare: RowWorker | undefined;

/**
 * A row worker for one file: the spare if there is a sound one (its modules are loaded, so the
 * file's first rows come at once), else a new thread.
 */
export function startRowWorker(): RowWorker {
  const taken = spare;
  spare = undefined;
  if (taken !== undefined && taken.takeSpare()) return taken;
  if (taken !== undefined) void taken.close();
  return new RowWorker();
}

/**
 * Starts a spare row worker for the next import, if there is none: a host does this when it
 * starts and after each import, so that no import waits the tenth of a second a thread takes to
 * load its modules. An idle spare keeps nobody alive.
 */
export function warmRowWorker(): void {
  if (spare !== undefined) return;
  spare = new RowWorker();
  spare.idle();
}

export class RowWorker implements PreparedRows {
  private readonly worker: Worker;
  /**
   * For a workbook: a private directory (mode 0700) for the thread's temporary files, made by
   * {@link RowWorker.prepare} and removed by {@link RowWorker.close}. Named when the file is
   * given, not when the thread starts (a spare starts long before).
   */
  private tempDir: string | undefined;
  private bytes: AsyncIterator<Uint8Array> | undefined;
  private readonly inbox: FromRowWorker[] = [];
  private wake: (() => void) | undefined;
  private failure: unknown;
  private done = false;
  private closed = false;
  private credits = CHUNKS_AHEAD;
  private sending = false;
  private bytesEnded = false;

  constructor() {
    if (!sweptThisProcess) {
      sweptThisProcess = true;
      void sweepStaleTempDirs();
    }
    this.worker = startModuleWorker(siblingModule('row-worker', import.meta.url));
    this.worker.on('message', (message: FromRowWorker) => {
      if (message.kind === 'more') {
        this.credits++;
        void this.sendBytes();
        return;
      }
      if (message.kind === 'done') this.done = true;
      this.inbox.push(message);
      this.notify();
    });
    this.worker.on('error', (err) => this.fail(new RowWorkerFailed(errorKind(err))));
    this.worker.on('exit', (code) => {
      if (!this.done && !this.closed) this.fail(new RowWorkerFailed(`exit-${code}`));
    });
  }

  /** As a spare: the thread keeps nobody alive until an import takes it. */
  idle(): void {
    this.worker.unref();
  }

  /** Taken from the spare for an import: false if the thread was lost meanwhile. */
  takeSpare(): boolean {
    if (this.failure !== undefined || this.closed) return false;
    this.worker.ref();
    return true;
  }

  /** Gives the worker the file: from here it reads, and its rows can be taken. Once only. */
  prepare(input: RowWorkerInput): PreparedRows {
    if (this.bytes !== undefined) throw new Error('RowWorker: prepare called twice');
    // Not there before (mkdir is exclusive), and the thread's alone: mode 0700.
    let tempDir: string | undefined;
    if (input.format.kind === 'xlsx') {
      tempDir = join(tmpdir(), `${TEMP_DIR_PREFIX}${randomUUID()}`);
      mkdirSync(tempDir, { mode: 0o700 });
      this.tempDir = tempDir;
    }
    this.bytes = input.bytes[Symbol.asyncIterator]();
    this.send({
      kind: 'start',
      format: input.format,
      readerLimits: input.readerLimits,
      xlsx: input.xlsx,
      keyVersion: input.keyVersion,
      key: input.key,
      tempDir,
    });
    void this.sendBytes();
    return this;
  }

  async header(): Promise<ExtractRecord | undefined> {
    const message = await this.receive();
    if (message.kind === 'done') return undefined;
    if (message.kind !== 'header') throw new RowWorkerFailed(`unexpected-${message.kind}`);
    return message.record;
  }

  async *rows(plan: RowPlan, comparisonKeys: readonly ComparisonKey[] = []): AsyncIterable<PreparedBatch> {
    this.send({ kind: 'plan', plan, comparisonKeys });
    for (;;) {
      const message = await this.receive();
      if (message.kind === 'done') return;
      if (message.kind !== 'rows') throw new RowWorkerFailed(`unexpected-${message.kind}`);
      yield message.batch;
      this.send({ kind: 'written' });
    }
  }

  /**
   * Stops the thread (and the download, if the load stopped early) and removes its temporary
   * files, whatever state it was in. Safe to call again.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Never waits on a read in progress.
    void this.bytes?.return?.().catch(() => undefined);
    try {
      await this.worker.terminate();
    } finally {
      if (this.tempDir !== undefined) await removeTempDir(this.tempDir);
    }
  }

  private async receive(): Promise<FromRowWorker> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      const message = this.inbox.shift();
      if (message?.kind === 'rejected') throw new FileRejection(message.reason, message.at);
      if (message?.kind === 'failed') throw new RowWorkerFailed(message.error);
      if (message !== undefined) return message;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Sends chunks while the worker has room for them. */
  private async sendBytes(): Promise<void> {
    const bytes = this.bytes;
    if (this.sending || bytes === undefined) return;
    this.sending = true;
    try {
      while (this.credits > 0 && !this.bytesEnded && this.failure === undefined && !this.closed) {
        const chunk = await this.nextChunk(bytes);
        if (this.closed) break;
        if (chunk === undefined) {
          this.bytesEnded = true;
          this.send({ kind: 'end' });
          break;
        }
        this.credits--;
        this.send({ kind: 'bytes', bytes: chunk.buffer as ArrayBuffer }, [chunk.buffer as ArrayBuffer]);
      }
    } catch (err) {
      // A failed download fails the load with its own error (e.g. the blob changed: 412).
      this.fail(err);
    } finally {
      this.sending = false;
    }
  }

  /** At least {@link CHUNK_BYTES} of the file (less at its end) in one buffer; undefined at the end. */
  private async nextChunk(bytes: AsyncIterator<Uint8Array>): Promise<Uint8Array | undefined> {
    const parts: Uint8Array[] = [];
    let size = 0;
    while (size < CHUNK_BYTES) {
      const read = await bytes.next();
      if (read.done === true) break;
      parts.push(read.value);
      size += read.value.length;
    }
    if (size === 0) return undefined;
    const chunk = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) {
      chunk.set(part, offset);
      offset += part.length;
    }
    return chunk;
  }

  private send(message: ToRowWorker, transfer?: ArrayBuffer[]): void {
    if (!this.closed) this.worker.postMessage(message, transfer);
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
