import type { Worker } from 'node:worker_threads';
import { errorKind } from '../logging.js';
import { siblingModule, startModuleWorker } from '../threads/module-worker.js';
import type { ExtractFormat } from './extract-format.js';
import type { ExtractRecord, ReaderLimits } from './extract-records.js';
import type { PreparedRows } from './prepared-rows.js';
import { FileRejection } from './reasons.js';
import type { PreparedBatch, RowPlan } from './row-preparation.js';
import { CHUNKS_AHEAD, type FromRowWorker, type ToRowWorker } from './row-worker-protocol.js';
import type { ZipEntry, ZipLimits } from './zip-directory.js';

/**
 * A file's rows prepared on a worker thread (row-worker.ts), so that reading, validating and
 * pseudonymising the next rows takes the second core while this thread writes the store.
 *
 * The thread is started as soon as the import knows the file is large ({@link startRowWorker}),
 * so that loading its modules overlaps the hash pass; it is given the file once the run is
 * claimed ({@link RowWorker.prepare}). The bytes go over in chunks of {@link CHUNK_BYTES}, copied once into a buffer of their own
 * and transferred, not cloned. A worker that fails, throws or exits before it is done fails the
 * load (the snapshot transaction rolls back; the run is redone on retry); a file the worker's
 * reader refuses comes back as the same {@link FileRejection} an in-thread read would give.
 */

const CHUNK_BYTES = 256 * 1024;

export interface RowWorkerInput {
  /** The file's bytes (read at most {@link CHUNKS_AHEAD} chunks ahead of the worker). */
  readonly bytes: AsyncIterable<Uint8Array>;
  readonly format: ExtractFormat;
  readonly readerLimits: ReaderLimits;
  readonly xlsx?: { readonly entries: readonly ZipEntry[]; readonly zipLimits: ZipLimits };
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

export function startRowWorker(): RowWorker {
  return new RowWorker();
}

export class RowWorker implements PreparedRows {
  private readonly worker: Worker;
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

  /** Gives the worker the file: from here it reads, and its rows can be taken. Once only. */
  prepare(input: RowWorkerInput): PreparedRows {
    if (this.bytes !== undefined) throw new Error('RowWorker: prepare called twice');
    this.bytes = input.bytes[Symbol.asyncIterator]();
    this.send({
      kind: 'start',
      format: input.format,
      readerLimits: input.readerLimits,
      xlsx: input.xlsx,
      keyVersion: input.keyVersion,
      key: input.key,
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

  async *rows(plan: RowPlan): AsyncIterable<PreparedBatch> {
    this.send({ kind: 'plan', plan });
    for (;;) {
      const message = await this.receive();
      if (message.kind === 'done') return;
      if (message.kind !== 'rows') throw new RowWorkerFailed(`unexpected-${message.kind}`);
      yield message.batch;
      this.send({ kind: 'written' });
    }
  }

  /** Stops the thread (and the download, if the load stopped early). Safe to call again. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Never waits on a read in progress.
    void this.bytes?.return?.().catch(() => undefined);
    await this.worker.terminate();
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
