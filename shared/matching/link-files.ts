/**
 * Linking two partner CSV files: a column map says which column holds which field, the files
 * are streamed through canonicalisation (validation, normalisation, pseudonymisation), linked,
 * and every predicted pair is written out. With a truth file, precision, recall and F1 per tier
 * are computed. The CLI (`npm run link`) is a thin wrapper around {@link linkCsvFiles}.
 *
 * A file need not carry a record id: the partner extracts the agreements define have none (the
 * demo seed's included), so with no recordId in the map a record is known by its row number as a
 * spreadsheet counts it (header = row 1; blank lines are not counted), which is also how the
 * seed's truth.csv names rows.
 */

import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { parse } from 'csv-parse';
import { z } from 'zod';
import type { Pseudonymiser } from '../domain/pseudonymise.js';
import { RecordBatchBuilder } from './canonicalise.js';
import type { CanonicalisationReport, RawPersonRecord } from './canonicalise.js';
import { evaluatePairs } from './evaluate.js';
import type { Evaluation } from './evaluate.js';
import { linkBatches, linkedPairs, predictedPairs } from './link.js';
import type { LinkOptions, LinkResult } from './link.js';
import type { RecordBatch } from './record.js';
import { csvCell } from '../csv-cell.js';

const columnName = z.string().min(1);

export const SourceColumnMapSchema = z.object({
  /** Names the source in outputs; defaults to "left" / "right". */
  sourceId: z.string().min(1).optional(),
  columns: z.object({
    /** Left out: the row number is the record id. */
    recordId: columnName.optional(),
    givenName: columnName.optional(),
    familyName: columnName.optional(),
    dob: columnName.optional(),
    postcode: columnName.optional(),
    address: columnName.optional(),
    nhsNumber: columnName.optional(),
    upn: columnName.optional(),
    niNumber: columnName.optional(),
    systemIds: z.array(z.object({ system: z.string().min(1), column: columnName })).optional(),
  }),
});

/** map.json: how each file's columns map to canonical fields. */
export const ColumnMapSchema = z.object({ left: SourceColumnMapSchema, right: SourceColumnMapSchema });
export type ColumnMap = z.infer<typeof ColumnMapSchema>;
export type SourceColumnMap = z.infer<typeof SourceColumnMapSchema>;

export class LinkFileError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LinkFileError';
  }
}

function csvRows(path: string): AsyncIterable<Record<string, string>> {
  const parser = parse({ columns: true, bom: true, skip_empty_lines: true, trim: true, relax_column_count: true });
  // pipe() does not pass a read error on: unhandled, it ended the process with a stack trace
  // instead of rejecting the read (a file that is gone or unreadable).
  return createReadStream(path)
    .on('error', (err) => parser.destroy(err))
    .pipe(parser);
}

/**
 * Streams a CSV into a canonical batch, record `i` from row `i + 2` (every row is kept or the
 * read fails, so the seed truth's row numbers find their records). Missing mapped columns are an
 * error, named by column.
 */
export async function readSourceCsv(
  path: string,
  map: SourceColumnMap,
  defaultSourceId: string,
  pseudonymiser: Pseudonymiser,
): Promise<{ batch: RecordBatch; report: CanonicalisationReport }> {
  const c = map.columns;
  const builder = new RecordBatchBuilder(map.sourceId ?? defaultSourceId, pseudonymiser);
  const cell = (row: Record<string, string>, column: string | undefined): string | undefined =>
    column === undefined ? undefined : row[column];
  let checked = false;
  const seen = new Set<string>();
  for await (const row of csvRows(path)) {
    if (!checked) {
      const wanted = [
        c.recordId,
        c.givenName,
        c.familyName,
        c.dob,
        c.postcode,
        c.address,
        c.nhsNumber,
        c.upn,
        c.niNumber,
        ...(c.systemIds ?? []).map((s) => s.column),
      ];
      for (const column of wanted) {
        if (column !== undefined && !(column in row)) {
          throw new LinkFileError(
            'column-missing',
            `${defaultSourceId} file has no column named in the map: ${column}`,
          );
        }
      }
      checked = true;
    }
    const recordId = c.recordId === undefined ? String(builder.size + 2) : (row[c.recordId] ?? '');
    if (recordId === '')
      throw new LinkFileError(
        'record-id-missing',
        `${defaultSourceId} file row ${builder.size + 2} (header = row 1) has no record id; leave recordId out of the map to use row numbers`,
      );
    if (seen.has(recordId))
      throw new LinkFileError(
        'record-id-duplicate',
        `${defaultSourceId} file row ${builder.size + 2} (header = row 1) repeats a record id`,
      );
    seen.add(recordId);
    const raw: RawPersonRecord = {
      recordId,
      givenName: cell(row, c.givenName),
      familyName: cell(row, c.familyName),
      dob: cell(row, c.dob),
      postcode: cell(row, c.postcode),
      address: cell(row, c.address),
      nhsNumber: cell(row, c.nhsNumber),
      upn: cell(row, c.upn),
      niNumber: cell(row, c.niNumber),
      systemIds: (c.systemIds ?? []).map((s) => ({ system: s.system, id: row[s.column] ?? '' })),
    };
    builder.add(raw);
  }
  return builder.build();
}

/**
 * Whether a truth file's `file` value names the file at `path`: the seed writes it relative to
 * its own folder (`la-housing/<dataset>/extract-<date>.csv`), and the file is given to the CLI
 * by whatever path reaches it, so the value must be the path's whole last segments.
 */
function namesFile(truthFile: string, path: string): boolean {
  const wanted = truthFile.replaceAll('\\', '/');
  const given = resolve(path).replaceAll('\\', '/');
  return wanted !== '' && (given === wanted || given.endsWith(`/${wanted}`));
}

/**
 * Reads a truth CSV, any of three layouts, told apart by the header:
 * - `left_id,right_id`: the true pairs, one per line;
 * - `record_id,person_id` (optionally with `source_id` first, "left" or "right" or the map's
 *   source ids, when the two files share record ids): the person behind each record;
 * - `file,row,person` (and any further columns, as the demo seed's `errors`): the person behind
 *   each row of any number of files, rows numbered with the header as row 1 — the seed's own
 *   truth.csv, whose rows of files other than these two are passed over. It names rows, not ids,
 *   so it holds whether or not the map gives a recordId.
 * Returns the person behind each left and right record (pairs become synthetic person keys).
 */
export async function readTruthCsv(
  path: string,
  left: RecordBatch,
  right: RecordBatch,
  files: { readonly left: string; readonly right: string },
): Promise<{ leftPerson: (string | undefined)[]; rightPerson: (string | undefined)[] }> {
  const leftIndex = new Map(left.recordId.map((id, i) => [id, i]));
  const rightIndex = new Map(right.recordId.map((id, j) => [id, j]));
  const leftPerson = new Array<string | undefined>(left.size).fill(undefined);
  const rightPerson = new Array<string | undefined>(right.size).fill(undefined);
  let layout: 'pairs' | 'persons' | 'rows' | null = null;
  let line = 1;
  const rowsNamed = { left: 0, right: 0 };
  for await (const row of csvRows(path)) {
    line++;
    if (layout === null) {
      if ('left_id' in row && 'right_id' in row) layout = 'pairs';
      else if ('record_id' in row && 'person_id' in row) layout = 'persons';
      else if ('file' in row && 'row' in row && 'person' in row) layout = 'rows';
      else
        throw new LinkFileError(
          'truth-header',
          'truth file needs columns left_id,right_id or record_id,person_id or file,row,person',
        );
    }
    if (layout === 'rows') {
      const file = row.file ?? '';
      const onLeft = namesFile(file, files.left);
      const onRight = namesFile(file, files.right);
      if (!onLeft && !onRight) continue;
      // Row 1 is the header, so row r is record r - 2.
      const index = /^\d+$/.test(row.row ?? '') ? Number(row.row) - 2 : -1;
      if ((onLeft && !(index >= 0 && index < left.size)) || (onRight && !(index >= 0 && index < right.size)))
        throw new LinkFileError('truth-unknown-record', `truth file line ${line} names a row not in the files`);
      if (onLeft) {
        leftPerson[index] = row.person;
        rowsNamed.left++;
      }
      if (onRight) {
        rightPerson[index] = row.person;
        rowsNamed.right++;
      }
    } else if (layout === 'pairs') {
      const i = leftIndex.get(row.left_id ?? '');
      const j = rightIndex.get(row.right_id ?? '');
      if (i === undefined || j === undefined)
        throw new LinkFileError('truth-unknown-record', `truth file line ${line} names a record not in the files`);
      // Pairs are turned into persons: a left record's person key, shared by its right partners.
      const person = leftPerson[i] ?? rightPerson[j] ?? `pair:${line}`;
      leftPerson[i] = person;
      rightPerson[j] = person;
    } else {
      const id = row.record_id ?? '';
      const source = row.source_id;
      const inLeft = source === undefined || source === 'left' || source === left.sourceId;
      const inRight = source === undefined || source === 'right' || source === right.sourceId;
      const i = inLeft ? leftIndex.get(id) : undefined;
      const j = inRight ? rightIndex.get(id) : undefined;
      if (i !== undefined && j !== undefined && source === undefined) {
        throw new LinkFileError(
          'truth-ambiguous-record',
          `truth file line ${line}: record id is in both files; add a source_id column`,
        );
      }
      if (i !== undefined) leftPerson[i] = row.person_id;
      else if (j !== undefined) rightPerson[j] = row.person_id;
      else throw new LinkFileError('truth-unknown-record', `truth file line ${line} names a record not in the files`);
    }
  }
  // A seed truth from another seeding (another date in the file names) would otherwise score
  // every link as false, as if the engine were wrong.
  for (const side of ['left', 'right'] as const) {
    if (layout === 'rows' && rowsNamed[side] === 0)
      throw new LinkFileError(
        'truth-file-unmatched',
        `truth file names no row of the ${side} file (its file column holds paths below the seed folder)`,
      );
  }
  return { leftPerson, rightPerson };
}

/** Writes every predicted pair: left_id,right_id,tier,rule,weight,probability. */
export async function writePairsCsv(
  path: string,
  result: LinkResult,
  left: RecordBatch,
  right: RecordBatch,
): Promise<number> {
  const out = createWriteStream(path);
  let written = 0;
  const write = async (line: string): Promise<void> => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write('left_id,right_id,tier,rule,weight,probability\n');
  for (const p of linkedPairs(result)) {
    await write(
      `${csvCell(left.recordId[p.left] as string)},${csvCell(right.recordId[p.right] as string)},${p.tier},${p.rule},${p.weight === null ? '' : p.weight.toFixed(3)},${p.probability === null ? '' : p.probability.toFixed(6)}\n`,
    );
    written++;
  }
  out.end();
  await once(out, 'finish');
  return written;
}

export interface LinkCsvFilesOptions {
  readonly leftPath: string;
  readonly rightPath: string;
  readonly map: ColumnMap;
  readonly outPath: string;
  readonly truthPath?: string | undefined;
  readonly pseudonymiser: Pseudonymiser;
  readonly link?: LinkOptions;
}

export interface LinkCsvFilesResult {
  readonly left: { readonly records: number; readonly dropped: CanonicalisationReport };
  readonly right: { readonly records: number; readonly dropped: CanonicalisationReport };
  readonly pairsWritten: number;
  readonly result: LinkResult;
  readonly evaluation: Evaluation | null;
}

export async function linkCsvFiles(options: LinkCsvFilesOptions): Promise<LinkCsvFilesResult> {
  const left = await readSourceCsv(options.leftPath, options.map.left, 'left', options.pseudonymiser);
  const right = await readSourceCsv(options.rightPath, options.map.right, 'right', options.pseudonymiser);
  const result = linkBatches(left.batch, right.batch, options.link);
  const pairsWritten = await writePairsCsv(options.outPath, result, left.batch, right.batch);
  let evaluation: Evaluation | null = null;
  if (options.truthPath !== undefined) {
    const truth = await readTruthCsv(options.truthPath, left.batch, right.batch, {
      left: options.leftPath,
      right: options.rightPath,
    });
    evaluation = evaluatePairs(predictedPairs(result), truth.leftPerson, truth.rightPerson);
  }
  return {
    left: { records: left.batch.size, dropped: left.report },
    right: { records: right.batch.size, dropped: right.report },
    pairsWritten,
    result,
    evaluation,
  };
}
