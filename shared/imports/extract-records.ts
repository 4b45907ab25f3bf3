import type { RowReason } from './reasons.js';

/** One record of an extract as its reader gives it: cell texts in file column order. */
export interface ExtractRecord {
  /** Row number as a spreadsheet shows it: the header is row 1. */
  readonly row: number;
  readonly cells: string[];
  /** A problem of the whole record (it is refused). */
  readonly problem?: RowReason;
  /** Problems of single cells found while reading (indices in file column order). */
  readonly cellProblems?: readonly { readonly index: number; readonly reason: RowReason }[];
}

/**
 * Readers yield records in batches (one per chunk of input) so the per-record cost of async
 * iteration is paid once per chunk.
 */
export type ExtractRecords = AsyncIterable<ExtractRecord[]>;

export interface ReaderLimits {
  /** Characters of one cell kept; beyond, the cell is refused (`value-too-long`) and not held. */
  readonly maxCellChars: number;
  /** Characters of one record; beyond, the record is refused (`row-too-long`) and not held. */
  readonly maxRecordChars: number;
  /** Cells of one record kept; beyond, the record is refused (`column-count`). */
  readonly maxCells: number;
}

export const DEFAULT_READER_LIMITS: ReaderLimits = {
  maxCellChars: 65_536,
  maxRecordChars: 1_048_576,
  maxCells: 512,
};
