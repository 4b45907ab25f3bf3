import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import { Pseudonymiser } from '../domain/pseudonymise.js';
import { errorKind } from '../logging.js';
import { csvRecords } from './csv-records.js';
import type { ExtractRecords } from './extract-records.js';
import { FileRejection } from './reasons.js';
import { emptyBatch, isBlankRecord, RowPreparer, type PreparedBatch, type RowPlan } from './row-preparation.js';
import {
  BATCHES_AHEAD,
  type FromRowWorker,
  type ComparisonKey,
  type RowWorkerStart,
  type ToRowWorker,
} from './row-worker-protocol.js';

/**
 * The row worker: reads the file's bytes as the import sends them, and parses, validates,
 * normalises and pseudonymises its rows (row-preparation.ts) while the import's own thread
 * writes the batches before into the store. Started by row-worker-client.ts; the messages and
 * their flow control are in row-worker-protocol.ts.
 */

/**
 * Rows a batch holds before it is posted. V8 deserialises a message over 100 KiB straight into
 * the old generation, where a million rows' short-lived strings would pile up until a full
 * collection; batches this small arrive in the young generation and die there.
 */
const BATCH_ROWS = 128;

const port = parentPort;
if (port === null) throw new Error('row-worker must run as a worker thread');
const post = (message: FromRowWorker) => port.postMessage(message);

/** The file's bytes as they arrive; each chunk taken asks the import for the next. */
class ByteInbox implements AsyncIterable<Uint8Array> {
  private readonly chunks: Uint8Array[] = [];
  private ended = false;
  private wake: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        post({ kind: 'more' });
        yield chunk;
      } else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

const inbox = new ByteInbox();
let unwritten = 0;
let written: (() => void) | undefined;
interface Planned {
  readonly plan: RowPlan;
  readonly comparisonKeys: readonly ComparisonKey[];
}
let receivePlan: (planned: Planned) => void = () => undefined;
const planned = new Promise<Planned>((resolve) => (receivePlan = resolve));

port.on('message', (message: ToRowWorker) => {
  switch (message.kind) {
    case 'start':
      prepareRows(message).catch((err: unknown) => {
        if (err instanceof FileRejection) post({ kind: 'rejected', reason: err.reason, at: err.at });
        else post({ kind: 'failed', error: errorKind(err) });
      });
      break;
    case 'bytes':
      inbox.push(new Uint8Array(message.bytes));
      break;
    case 'end':
      inbox.end();
      break;
    case 'plan':
      receivePlan({ plan: message.plan, comparisonKeys: message.comparisonKeys });
      break;
    case 'written': {
      unwritten--;
      const wake = written;
      written = undefined;
      wake?.();
      break;
    }
  }
});

async function postBatch(batch: PreparedBatch): Promise<void> {
  while (unwritten >= BATCHES_AHEAD) await new Promise<void>((resolve) => (written = resolve));
  unwritten++;
  post({ kind: 'rows', batch });
}

async function prepareRows(start: RowWorkerStart): Promise<void> {
  const pseudonymiser = new Pseudonymiser({ keyVersion: start.keyVersion, key: Buffer.from(start.key) });
  start.key.fill(0);
  let records: ExtractRecords;
  if (start.format.kind === 'xlsx') {
    // Loaded only for a workbook: exceljs is most of what the worker would otherwise load at start.
    const { useTempDirForThisThread, xlsxRecords } = await import('./xlsx-records.js');
    // Fail closed: without its own directory, a worksheet's raw cells would go to the system's.
    if (start.tempDir === undefined) throw new Error('A workbook is read only with a private temporary directory');
    useTempDirForThisThread(start.tempDir);
    records = xlsxRecords(Readable.from(inbox), { ...start.xlsx!, limits: start.readerLimits });
  } else {
    records = csvRecords(inbox, start.format.delimiter, start.readerLimits);
  }
  let preparer: RowPreparer | undefined;
  let batch = emptyBatch();
  for await (const read of records) {
    let from = 0;
    if (preparer === undefined) {
      // Blank records before the header (Excel leftovers) are skipped, as in prepared-rows.ts.
      const at = read.findIndex((record) => !isBlankRecord(record));
      if (at < 0) continue;
      post({ kind: 'header', record: read[at]! });
      const { plan, comparisonKeys } = await planned;
      const others = comparisonKeys.map(
        (other) => new Pseudonymiser({ keyVersion: other.keyVersion, key: Buffer.from(other.key) }),
      );
      for (const other of comparisonKeys) other.key.fill(0);
      preparer = new RowPreparer(plan, pseudonymiser, others);
      from = at + 1;
    }
    for (let r = from; r < read.length; r++) {
      preparer.add(read[r]!, batch);
      if (batch.rows.length >= BATCH_ROWS) {
        await postBatch(batch);
        batch = emptyBatch();
      }
    }
  }
  if (batch.rows.length > 0) await postBatch(batch);
  post({ kind: 'done' });
}
