/** One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break. */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * One CSV cell of text in a file people open in a spreadsheet: as {@link csvCell}, but a value
 * that begins with =, +, -, @, a tab or a carriage return, which Excel and LibreOffice would run
 * as a formula (CSV injection), begins with an apostrophe, so that it is taken as text.
 */
export function spreadsheetTextCell(value: string): string {
  return csvCell(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
}
