import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * exceljs's own modules, as its readers reach them. The hooks that make exceljs read a workbook
 * as Excel shows it (xlsx-records.ts, exceljs-text-events.ts, exceljs-xml-decoding.ts) must
 * change the very module instances exceljs requires, not copies of their own: a module is found
 * from one of exceljs's files, as that file's `require` finds it.
 */

/** The path of one of exceljs's files (`lib/…`), in the exceljs this project resolves. */
export function excelJsFile(file: string): string {
  return join(dirname(createRequire(import.meta.url).resolve('exceljs')), file);
}

/** A module as exceljs's `file` requires it (`request`, as written there). */
export function requireAsExcelJs(file: string, request: string): unknown {
  return createRequire(excelJsFile(file))(request);
}
