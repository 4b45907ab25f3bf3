import type { ExtractFormat } from './extract-format.js';
import type { ExtractRecord, ReaderLimits } from './extract-records.js';
import type { FileReason } from './reasons.js';
import type { PreparedBatch, RowPlan } from './row-preparation.js';

/**
 * A key version and its bytes, other than the snapshot's own, that the rows' identifiers are also
 * hashed under for a comparison only (a rotation): the previous snapshot's, and those of kept
 * opt-out keys (row-preparation.ts).
 */
export interface ComparisonKey {
  readonly keyVersion: string;
  readonly key: Uint8Array;
}
import type { CheckedWorkbook } from './zip-directory.js';

/**
 * The messages between an import and its row worker (row-worker.ts, row-worker-client.ts).
 *
 * Flow control keeps memory flat however large the file: the import sends a chunk of the file
 * only for a `more` (the worker holds at most {@link CHUNKS_AHEAD} unread), and the worker
 * posts a batch only while fewer than {@link BATCHES_AHEAD} of its batches are unwritten (each
 * `written` frees one).
 */

export const CHUNKS_AHEAD = 2;
/** Batches of 128 rows (row-worker.ts): a few thousand rows ahead. */
export const BATCHES_AHEAD = 32;

/** What the worker reads and how; sent once the import knows the file is to be loaded. */
export interface RowWorkerStart {
  readonly format: ExtractFormat;
  readonly readerLimits: ReaderLimits;
  /** For a workbook: its checked zip directory, its worksheet, and the limits to hold it to while inflating. */
  readonly xlsx?: CheckedWorkbook;
  readonly keyVersion: string;
  /** The pseudonymisation key; the worker zeroes this copy once it holds the key as a KeyObject. */
  readonly key: Uint8Array;
  /**
   * For a workbook: the thread's private directory for its temporary files (exceljs's copy of a
   * worksheet: xlsx-records.ts), made by the parent, which removes it after terminating the
   * thread (terminate runs no `finally` of ours).
   */
  readonly tempDir?: string;
}

export type ToRowWorker =
  | ({ readonly kind: 'start' } & RowWorkerStart)
  | { readonly kind: 'bytes'; readonly bytes: ArrayBuffer }
  | { readonly kind: 'end' }
  | {
      readonly kind: 'plan';
      readonly plan: RowPlan;
      /**
       * The other key versions to hash under as well (row-preparation.ts): known only in the
       * load's transaction, so sent with the plan; the worker zeroes these copies as the keys.
       */
      readonly comparisonKeys: readonly ComparisonKey[];
    }
  | { readonly kind: 'written' };

export type FromRowWorker =
  | { readonly kind: 'more' }
  | { readonly kind: 'header'; readonly record: ExtractRecord }
  | { readonly kind: 'rows'; readonly batch: PreparedBatch }
  | { readonly kind: 'done' }
  | {
      readonly kind: 'rejected';
      readonly reason: FileReason;
      readonly at: { column?: string; columnIndex?: number; row?: number };
    }
  /** Anything else that went wrong: the error's kind only (logging.ts errorKind), never its message. */
  | { readonly kind: 'failed'; readonly error: string };
