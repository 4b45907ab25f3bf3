/**
 * `npm run import -- <file> --party <id> --dataset <id>` — uploads a partner extract to the local
 * stack's `incoming/{party}/{dataset}/{file name}` (start it first with `npm start`), follows the
 * import to its end with a progress bar, and prints the report.
 *
 * Options: --name <file name in incoming> (default: the file's own name)
 *          --delimiter comma|semicolon|tab|pipe   --as-of YYYY-MM-DD   --timeout <seconds> (600)
 *          --remote: upload to the configured storage even if it is not a local Azurite (never
 *          when LINTEL_ENV is production; scripts/upload-target.ts)
 *
 * Exit status: 0 loaded, 2 rejected — also when the same content was imported before and that
 * import was a rejection — 1 on an error. A command line the importer would only reject or leave
 * in incoming (a path that is no file, an empty file, a --party or --dataset the agreements do not
 * define, a --party that is not a source of --dataset, a name ending in `.filepart` or of a type it
 * does not read, a --delimiter or --as-of it cannot read, a date still to come), several files,
 * and a --timeout that is no positive number of seconds, are refused with exit 2 before anything
 * is uploaded: with the usage line after the message where the command line is mistyped (an
 * option missing or unreadable, several files, an id the agreements do not define), alone where
 * the file or the agreements refuse what it names.
 *
 * Following works from blob storage alone, as a partner's own tooling could: the importer's
 * progress blob (`processed/<path>.progress.json`) while it loads, then the report beside the
 * file in `processed/` or `rejected/`, recognised by the file's SHA-256. Ctrl-C once the file is
 * uploaded stops the following only (exit 130): the host imports the file all the same.
 * Following a local Azurite, it stops (exit 1) when nothing has listened on the local host's port
 * (LINTEL_HOST_PORT, 7071) for 15 s: the file stays in incoming/ for the host to import when it starts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ownErrorLine, parseOptions, refuseUsage, requireFile } from './cli.js';
import type { BlobServiceClient } from '@azure/storage-blob';
import { portInUse } from '../local/azurite.js';
import { loadLocalSettings, localPort } from '../local/settings.js';
import { isTemporaryUpload, TEMPORARY_UPLOAD_SUFFIXES } from '../shared/blob/blob-created-event.js';
import { CONTAINERS } from '../shared/blob/containers.js';
import { loadAgreements } from '../shared/agreements/load.js';
import { loadConfig } from '../shared/config.js';
import { asOfDate, datedAfterUpload, extractFormatOf } from '../shared/imports/extract-format.js';
import { handledName, progressBlobName, reportBlobName } from '../shared/imports/handled-names.js';
import type { ImportProgress } from '../shared/imports/import-progress.js';
import type { ImportReport } from '../shared/imports/import-report.js';
import { isLocalStorage, uploadBlobClient } from './upload-target.js';

const USAGE =
  'npm run import -- <file> --party <party-id> --dataset <dataset-id> [--name <file name>] [--delimiter comma|semicolon|tab|pipe] [--as-of YYYY-MM-DD] [--timeout <seconds>] [--remote]';

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Whether storage answered 404. The SDK is imported here, once a blob has been asked for, not at
 * the top: a command line refused before uploading is answered without it (some 1 s for tsx).
 */
async function isNotFound(err: unknown): Promise<boolean> {
  const { RestError } = await import('@azure/storage-blob');
  return err instanceof RestError && err.statusCode === 404;
}

async function readJson<T>(blobs: BlobServiceClient, container: string, name: string): Promise<T | undefined> {
  try {
    return JSON.parse(
      (await blobs.getContainerClient(container).getBlobClient(name).downloadToBuffer()).toString('utf8'),
    ) as T;
  } catch (err) {
    if (await isNotFound(err)) return undefined;
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/**
 * How long the local host's port may stay closed while the script follows an import to a local
 * Azurite: long enough for an `npm start` still starting (its Azurite comes up first).
 */
const HOST_ABSENT_MS = 15_000;

const tty = process.stdout.isTTY === true;
/** Without a terminal, a phase's first line unless it is already done, and its last (`last`, from the caller that knows). */
const phasesShown = new Set<string>();

function bar(label: string, done: number, total: number, extra = '', last = false): void {
  const width = 30;
  const share = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(share * width);
  const line = `${label.padEnd(10)} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${extra}`;
  if (tty) return void process.stdout.write(`\r${line}\u001b[K`);
  if (!last && (share === 1 || phasesShown.has(label))) return;
  phasesShown.add(label);
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseOptions('import', USAGE, {
    allowPositionals: true,
    options: {
      party: { type: 'string' },
      dataset: { type: 'string' },
      name: { type: 'string' },
      delimiter: { type: 'string' },
      'as-of': { type: 'string' },
      timeout: { type: 'string', default: '600' },
      remote: { type: 'boolean', default: false },
    },
  });
  const file = positionals[0];
  if (!file || !values.party || !values.dataset) {
    refuseUsage('import', 'a file, --party and --dataset are needed', USAGE);
  }
  // A pattern the shell expanded to several files (`extract-*.csv`) uploaded the first alone and
  // reported it as the import, the others passed over without a word.
  if (positionals.length > 1)
    refuseUsage('import', `${positionals.length} files given: it imports one file at a time`, USAGE);
  // Checked before uploading: a NaN deadline is never passed, so the wait would never end.
  const timeoutSeconds = Number(values.timeout);
  if (!(timeoutSeconds > 0 && Number.isFinite(timeoutSeconds)))
    refuseUsage('import', '--timeout must be a positive number of seconds', USAGE);
  const path = resolve(file);
  const size = sizeOf(file);
  const fileName = values.name ?? basename(path);
  // The importer leaves such a file alone for the SFTP client's rename, which never comes here:
  // the script waited out its --timeout, then asked whether `npm start` was running.
  if (isTemporaryUpload(fileName)) {
    const ending = TEMPORARY_UPLOAD_SUFFIXES.find((suffix) => fileName.toLowerCase().endsWith(suffix));
    refuseUsage(
      'import',
      `${fileName} ends in ${ending}, a name the importer leaves alone as an upload still under way: give it another with --name`,
    );
  }
  const metadata: Record<string, string> = {};
  if (values.delimiter) metadata.delimiter = values.delimiter;
  if (values['as-of']) metadata.asof = values['as-of'];
  refuseUnreadable(fileName, metadata);
  loadLocalSettings();
  const settings = loadConfig(process.env);
  // The importer rejects a file whose folders name a dataset no agreement has, or a party that is
  // not one of its sources, on the folders alone: uploaded all the same, a mistyped --party or
  // --dataset put a partner's people into storage only to be filed in rejected/ under the typo.
  // An id the agreements do not define is a mistyped command line (the usage line follows, as for
  // relink's --agreement); a party they define that is not a source is their refusal, named alone.
  const agreements = loadAgreements(resolve(settings.AGREEMENTS_DIR));
  const dataset = agreements.dataset(values.dataset)?.dataset;
  if (!dataset) refuseUsage('import', `no dataset ${values.dataset} in the agreements`, USAGE);
  const sources = [...dataset.sources].sort().join(', ');
  if (agreements.party(values.party) === undefined) {
    refuseUsage(
      'import',
      `no party ${values.party} in the agreements (the sources of ${dataset.id}: ${sources})`,
      USAGE,
    );
  }
  if (!agreements.isSource(values.party, dataset.id)) {
    refuseUsage(
      'import',
      `${values.party} is not a source of ${dataset.id} in the agreements (its sources: ${sources})`,
    );
  }
  // An Azurite started some other way answers with no host beside it to import the file: the
  // script waited out its --timeout (600 s by default) before asking whether `npm start` was
  // running. Nothing listening on the host's port (LINTEL_HOST_PORT, as local/host.ts reads it)
  // says so within seconds. Only a local storage has its host on this machine to look for. Read
  // before the upload: a malformed LINTEL_HOST_PORT refuses the command with no file in storage.
  const hostPort = isLocalStorage(settings) ? (localPort(process.env, 'LINTEL_HOST_PORT') ?? 7071) : undefined;
  const blobs = await uploadBlobClient(settings, {
    script: 'import',
    remote: values.remote,
    startHint: 'start the local stack with `npm start` first',
  });
  const blobName = `${values.party}/${values.dataset}/${fileName}`;
  const sha256 = await sha256Of(path);

  const started = Date.now();
  await blobs
    .getContainerClient(CONTAINERS.incoming)
    .getBlockBlobClient(blobName)
    .uploadStream(createReadStream(path), 4 * 1024 * 1024, 4, {
      metadata,
      onProgress: (p) =>
        bar('uploading', p.loadedBytes, size, `${(p.loadedBytes / 1e6).toFixed(1)}/${(size / 1e6).toFixed(1)} MB`),
    });
  bar('uploading', size, size, `${(size / 1e6).toFixed(1)} MB`, true);
  if (tty) process.stdout.write('\n');
  // The file is in incoming/ now, and the host imports it whatever becomes of this script: the
  // script died on Ctrl-C mid-bar, and the operator took the import for stopped.
  process.once('SIGINT', () => {
    const report = reportBlobName(blobName);
    process.stdout.write(
      `${tty ? '\n' : ''}Stopped following; the import was not stopped. Its report will be at ${CONTAINERS.processed}/${report} or ${CONTAINERS.rejected}/${report}.\n`,
    );
    process.exit(130);
  });

  const deadline = Date.now() + timeoutSeconds * 1000;
  let hostSeenAt = Date.now();
  let report: ImportReport | undefined;
  let lastRows = 0;
  const newReport = async (): Promise<ImportReport | undefined> => {
    for (const destination of [CONTAINERS.processed, CONTAINERS.rejected]) {
      const found = await readJson<ImportReport>(blobs, destination, reportBlobName(blobName));
      if (found?.contentSha256 === sha256 && Date.parse(found.finishedAt) >= started - 1000) return found;
    }
    return undefined;
  };
  for (;;) {
    report = await newReport();
    if (report) break;
    const incoming = await blobs.getContainerClient(CONTAINERS.incoming).getBlobClient(blobName).exists();
    if (!incoming && (report = await newReport())) break;
    if (!incoming) {
      // The importer writes the report (a loaded one once its load is committed) before it
      // moves the file: gone without a new report means the same bytes were imported before
      // (under this name or another).
      let earlier: ImportReport | undefined;
      for (const destination of [CONTAINERS.processed, CONTAINERS.rejected]) {
        const found = await readJson<ImportReport>(blobs, destination, reportBlobName(blobName));
        if (found?.contentSha256 === sha256) earlier ??= found;
      }
      // Without a report of these bytes under this name (they were imported under another), where
      // the importer moved the file says which it was: a duplicate goes where its run's file went.
      const outcome =
        earlier?.outcome ??
        ((await movedSince(blobs, CONTAINERS.rejected, blobName, started))
          ? 'rejected'
          : (await movedSince(blobs, CONTAINERS.processed, blobName, started))
            ? 'loaded'
            : undefined);
      const run = earlier ? ` (run ${earlier.runId}, ${earlier.outcome})` : outcome ? ` (${outcome})` : '';
      process.stdout.write(`\nThe same content was imported before${run}; nothing was applied again.\n`);
      // Rejected then, so rejected now: the same exit status as a fresh rejection.
      if (outcome === 'rejected') process.exitCode = 2;
      return;
    }
    const progress = await readJson<ImportProgress>(blobs, CONTAINERS.processed, progressBlobName(blobName));
    if (progress) {
      lastRows = progress.rows;
      bar('importing', progress.bytesRead, progress.totalBytes, `${progress.rows.toLocaleString('en-GB')} rows`);
    } else if (tty) {
      process.stdout.write(`\rwaiting for the import to start… ${Math.round((Date.now() - started) / 1000)} s\u001b[K`);
    }
    if (hostPort !== undefined) {
      if (await portInUse(hostPort)) hostSeenAt = Date.now();
      else if (Date.now() - hostSeenAt > HOST_ABSENT_MS)
        throw new Error(
          `the file is in ${CONTAINERS.incoming}/, but nothing listens on port ${hostPort} (LINTEL_HOST_PORT): is the local host (npm start) running? It imports the file when it starts`,
        );
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for the import (is `npm start` running?)');
    await new Promise((r) => setTimeout(r, 500));
  }
  bar('importing', 1, 1, `${(report.counts.rows || lastRows).toLocaleString('en-GB')} rows`, true);
  process.stdout.write('\n\n');
  printReport(report, blobName);
  // Rejected then, so rejected now: a duplicate of a rejected file exits as its rejection did.
  if ((report.duplicateOf?.outcome ?? report.outcome) === 'rejected') process.exitCode = 2;
}

/**
 * The size of the file `file` (as typed) names, read before anything else: the stack was
 * looked for first, so a mistyped path with it down was answered "no Azurite", and once it was up
 * with Node's "ENOENT: …, stat", or for a folder "EISDIR: illegal operation on a directory, read",
 * which folder unsaid. An empty file is refused too, which the importer rejects (`empty-file`).
 */
function sizeOf(file: string): number {
  const stats = requireFile('import', file);
  if (stats.size === 0) refuseUsage('import', `${file} is empty: the importer rejects an empty file`);
  return stats.size;
}

/**
 * Refuses (exit 2) what the importer would reject from the file's name and metadata alone, read
 * as it reads them (extract-format.ts): uploaded all the same, a typo put the file (people's
 * records) into storage to be filed in rejected/ — `--delimiter semi-colon` as
 * `unsupported-file-type`, of a .csv, and a `--name` holding a folder (a / or a \) as `bad-path`.
 */
function refuseUnreadable(fileName: string, metadata: Readonly<Record<string, string>>): void {
  // The importer takes a file only directly in its dataset's folder (`{partyId}/{datasetId}/{fileName}`).
  if (fileName.includes('/'))
    refuseUsage(
      'import',
      `${fileName} is a path: the importer reads a file only directly in incoming/<party>/<dataset>/, and rejects one in a folder below it (bad-path): give --name a file name without /`,
    );
  // Storage takes a \ in a blob's name for a / (Azurite stores `a\b.csv` as `a/b.csv`).
  if (fileName.includes('\\'))
    refuseUsage(
      'import',
      `${fileName} holds \\, which storage reads as /: the importer reads a file only directly in incoming/<party>/<dataset>/, and rejects one in a folder below it (bad-path): give --name a file name without \\`,
    );
  if (extractFormatOf(fileName, {}) === undefined)
    refuseUsage(
      'import',
      `${fileName} is not a file the importer reads (.csv, .txt, .tsv, .tab or .xlsx): give its name with --name`,
    );
  if (extractFormatOf(fileName, metadata) === undefined)
    refuseUsage('import', '--delimiter must be comma, semicolon, tab or pipe (or the character itself)', USAGE);
  const now = new Date();
  const asOf = asOfDate(fileName, metadata, now);
  if (asOf === undefined)
    refuseUsage(
      'import',
      '--as-of must be a date, YYYY-MM-DD or YYYYMMDD, or a date-time whose time can be read, YYYY-MM-DDThh:mm[:ss][Z|±hh:mm] (or a space for the T) or YYYYMMDDThhmm[ss][Z|±hhmm]',
      USAGE,
    );
  if (datedAfterUpload(asOf, now)) {
    const from = metadata.asof === undefined ? `the date in the name, ${asOf},` : `--as-of ${asOf}`;
    refuseUsage(
      'import',
      `${from} is after today: the importer refuses an extract of a day still to come${metadata.asof === undefined ? ' (give the day it describes with --as-of)' : ''}`,
    );
  }
}

/** Whether the file was moved to `container` since `since` (ms), give or take a second of clock. */
async function movedSince(blobs: BlobServiceClient, container: string, blobName: string, since: number) {
  try {
    const properties = await blobs.getContainerClient(container).getBlobClient(handledName(blobName)).getProperties();
    return (properties.lastModified?.getTime() ?? 0) >= since - 1000;
  } catch (err) {
    if (await isNotFound(err)) return false;
    throw err;
  }
}

/** What to do about a rejection that is not about the rows. */
const HINTS: Readonly<Record<string, string>> = {
  'import-attempts-exhausted':
    'every attempt to import the file broke off (see the import.failed log lines); upload it again to retry',
  'workbook-named-as-text':
    'the file is an Excel workbook, not text: upload it with a name ending .xlsx (an older .xls, or one with a password, saved again as .xlsx), or save it from Excel as CSV UTF-8',
  'pdf-named-as-text': 'the file is a PDF, not the extract: send the extract as CSV UTF-8 or as an .xlsx workbook',
  'xlsx-hidden-sheet':
    'the workbook has hidden sheets beside the one Excel shows: unhide them (right-click a sheet tab, Unhide) and delete all but the extract, or save the extract as CSV UTF-8',
  'xlsx-corrupted':
    'the workbook was damaged on its way (its zip checksums do not match): upload it again from the original',
  'xlsx-shared-strings-too-large': 'the workbook holds too much text to read safely: send the extract as CSV',
  'xlsx-uncompressed-too-large': 'the workbook is too large uncompressed: send the extract as CSV',
  'xlsx-too-many-rows':
    "the worksheet has rows past Excel's last (1,048,576), which Excel does not show: send the extract as CSV",
};

function printReport(report: ImportReport, blobName: string): void {
  const settled = report.duplicateOf?.outcome ?? report.outcome;
  const where = settled === 'loaded' ? CONTAINERS.processed : CONTAINERS.rejected;
  process.stdout.write(`${report.outcome.toUpperCase()}  run ${report.runId}\n`);
  if (report.duplicateOf !== undefined) {
    process.stdout.write(
      `The same content was imported before as ${report.duplicateOf.file} (${report.duplicateOf.outcome}); nothing was applied again.\n`,
    );
    process.stdout.write(`report: ${where}/${reportBlobName(blobName)}\n`);
    return;
  }
  process.stdout.write(
    `rows ${report.counts.rows}, loaded ${report.counts.loaded}, rejected ${report.counts.rejected} (threshold ${Number((report.maxBadRowShare * 100).toPrecision(12))}% bad rows)\n`,
  );
  for (const e of report.fileErrors) {
    const at = e.column ? ` column ${e.column}` : e.columnIndex ? ` column #${e.columnIndex}` : '';
    process.stdout.write(`  file: ${e.reason}${at}${e.row ? ` row ${e.row}` : ''}\n`);
  }
  const hint = HINTS[report.fileErrors[0]?.reason ?? ''];
  if (hint !== undefined) process.stdout.write(`  ${hint}\n`);
  for (const e of report.rowErrors.slice(0, 20))
    process.stdout.write(`  row ${e.row}${e.column ? ` ${e.column}` : ''}: ${e.reason}\n`);
  const more = report.rowErrors.length - 20 + report.rowErrorsNotListed;
  if (more > 0) process.stdout.write(`  … and ${more} more row errors\n`);
  process.stdout.write(`report: ${where}/${reportBlobName(blobName)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(ownErrorLine('import', err));
  process.exit(1);
});
