import type { FileReason, RowReason } from './reasons.js';

/**
 * The report written beside every imported file (`<file>.report.json` in `processed/` or
 * `rejected/`, `<file>` being the file's path in incoming). It says what happened and where,
 * never what the file contained: file-level reasons, and per bad row its number, the
 * agreement's column name and a reason code.
 */
export interface ImportReport {
  readonly runId: string;
  readonly partyId: string;
  readonly datasetId: string;
  /**
   * Path of the file as the partner named it in incoming. In processed/ or rejected/ it is there
   * under that path, but with `~` added if it ends `.report.json`, `.staged`, `.progress.json` or
   * `~` (`handledName`, handled-names.ts), so that it never takes a report's name.
   */
  readonly file: string;
  readonly contentSha256: string;
  /**
   * `duplicate`: the same bytes were imported before, from another file ({@link duplicateOf});
   * nothing was applied again, and the counts are zero.
   */
  readonly outcome: 'loaded' | 'rejected' | 'duplicate';
  readonly finishedAt: string;
  readonly counts: {
    /** Data rows read (the header is not counted; blank lines are skipped). */
    readonly rows: number;
    readonly loaded: number;
    readonly rejected: number;
  };
  /** The file's columns, as the agreement's field names (empty when the file was rejected). */
  readonly columns: readonly string[];
  readonly maxBadRowShare: number;
  readonly fileErrors: readonly FileError[];
  /** The first {@link MAX_REPORTED_ROW_ERRORS} row errors, in file order. */
  readonly rowErrors: readonly RowError[];
  /** Row errors beyond those listed. */
  readonly rowErrorsNotListed: number;
  /** For a `duplicate`: the earlier file with the same bytes (its run is {@link runId}) and what became of it. */
  readonly duplicateOf?: { readonly file: string; readonly outcome: 'loaded' | 'rejected' };
}

export interface FileError {
  readonly reason: FileReason;
  /** The agreement's field name, when the problem is one known column. */
  readonly column?: string;
  /** 1-based position, for a column whose header is not in the agreement (its text is not repeated). */
  readonly columnIndex?: number;
  readonly row?: number;
}

export interface RowError {
  /** Row number as a spreadsheet shows it: the header is row 1. */
  readonly row: number;
  /** The agreement's field name; absent for problems of the whole row. */
  readonly column?: string;
  readonly reason: RowReason;
}

export const MAX_REPORTED_ROW_ERRORS = 1000;

/** Collects row errors with a cap, so a file of a million bad rows gives a report of bounded size. */
export class RowErrorList {
  readonly listed: RowError[] = [];
  notListed = 0;
  /** Distinct rows with at least one error. */
  badRows = 0;
  /**
   * Every row error by reason, for the log line (codes and counts only): counted beyond the cap,
   * or a load of 1,500 bad postcodes was logged as 1,000 of them.
   */
  readonly byReason: Record<string, number> = {};

  constructor(private readonly cap = MAX_REPORTED_ROW_ERRORS) {}

  addRow(errors: readonly RowError[]): void {
    if (errors.length === 0) return;
    this.badRows++;
    for (const error of errors) {
      this.byReason[error.reason] = (this.byReason[error.reason] ?? 0) + 1;
      if (this.listed.length < this.cap) this.listed.push(error);
      else this.notListed++;
    }
  }
}
