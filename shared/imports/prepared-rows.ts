import { Pseudonymiser } from '../domain/pseudonymise.js';
import type { ExtractRecord, ExtractRecords } from './extract-records.js';
import { isBlankRecord, RowPreparer, type PreparedBatch, type RowPlan } from './row-preparation.js';
import type { ComparisonKey } from './row-worker-protocol.js';

/**
 * A file's rows as the snapshot load takes them: first the header record, from which the load
 * plans the columns, then the data rows prepared under that plan. Prepared on the import's own
 * thread ({@link preparedInThread}) or on a worker thread beside the store writes
 * (row-worker-client.ts).
 */
export interface PreparedRows {
  /** The first record, or undefined when the file has none. */
  header(): Promise<ExtractRecord | undefined>;
  /**
   * The records after the header, prepared under `plan`, in file order; their identifiers hashed
   * under each of `comparisonKeys` as well (see RowPreparer). The caller may zero those keys once
   * the first batch is in.
   */
  rows(plan: RowPlan, comparisonKeys?: readonly ComparisonKey[]): AsyncIterable<PreparedBatch>;
  /** Stops reading; called once the load is over, whatever its outcome. */
  close(): Promise<void>;
}

export function preparedInThread(records: ExtractRecords, pseudonymiser: Pseudonymiser): PreparedRows {
  const iterator = records[Symbol.asyncIterator]();
  let first: ExtractRecord[] | undefined;
  /** Where the header is in `first`: blank records before it (Excel leftovers) are skipped. */
  let headerAt = 0;
  return {
    async header() {
      for (;;) {
        const read = await iterator.next();
        if (read.done === true) return undefined;
        const at = read.value.findIndex((record) => !isBlankRecord(record));
        if (at >= 0) {
          first = read.value;
          headerAt = at;
          return read.value[at];
        }
      }
    },
    async *rows(plan, comparisonKeys = []) {
      const preparer = new RowPreparer(
        plan,
        pseudonymiser,
        comparisonKeys.map((other) => new Pseudonymiser({ keyVersion: other.keyVersion, key: Buffer.from(other.key) })),
      );
      if (first !== undefined) yield preparer.prepare(first, headerAt + 1);
      first = undefined;
      for (;;) {
        const read = await iterator.next();
        if (read.done === true) return;
        yield preparer.prepare(read.value);
      }
    },
    async close() {
      await iterator.return?.();
    },
  };
}
