/**
 * The names in processed/ and rejected/: a handled file's, and those of what the importer writes
 * beside it — its report, a report's staged copy, a load's progress. Each is the file's path in
 * incoming with an ending added, and the file's own name is escaped when it ends like one of
 * them, so the endings are written once here: the escape is derived from the builders' own
 * endings and cannot miss one added later. `npm run import` follows an import by these names
 * too, so it builds them here rather than spelling them itself.
 */

const REPORT = '.report.json';
const STAGED = '.staged';
const PROGRESS = '.progress.json';
const ESCAPE = '~';

/** `<file>.report.json`: the report, named by the file's path in incoming whatever its handled name. */
export function reportBlobName(blobName: string): string {
  return `${blobName}${REPORT}`;
}

/**
 * A report's staged copy, not a `.report.json`, so nothing takes it for a result: a load's is
 * `<file>.report.<run>.staged`; a rejection's is `<file>.report.<run>.<finished>.staged`, named by
 * the time the rejection finishes the run with, which the run then keeps, so that the retry of a
 * delivery that broke off after the finish finds the copy of the verdict that stood, and not that
 * of another delivery which rejected the file at the same time.
 */
export function stagedReportBlobName(blobName: string, runId: string, finishedAt?: string): string {
  const finished = finishedAt === undefined ? '' : `.${compactTime(finishedAt)}`;
  return `${stagedStem(blobName, runId)}${finished}${STAGED}`;
}

const stagedStem = (blobName: string, runId: string) => `${blobName}.report.${runId}`;

/** What every staged copy of `blobName`'s report for run `runId` begins with, a load's or a rejection's. */
export function stagedReportPrefix(blobName: string, runId: string): string {
  return `${stagedStem(blobName, runId)}.`;
}

/** An ISO time as a rejection's staged copy is named by: `20260106T090000000Z`, ordered as the times are. */
export function compactTime(iso: string): string {
  return iso.replace(/[-:.]/g, '');
}

/**
 * The finish time (compact) `name` holds if it is a rejection's staged copy of `blobName`'s report
 * for run `runId`, exactly as {@link stagedReportBlobName} names one; undefined for any other name
 * (a staged copy of another file's report whose name begins the same has more after the time).
 */
export function stagedRejectionFinish(name: string, blobName: string, runId: string): string | undefined {
  const prefix = stagedReportPrefix(blobName, runId);
  if (!name.startsWith(prefix)) return undefined;
  return /^(\d{8}T\d{9}Z)\.staged$/.exec(name.slice(prefix.length))?.[1];
}

/** `<file>.progress.json`: a load's progress, in processed/ (import-progress.ts). */
export function progressBlobName(blobName: string): string {
  return `${blobName}${PROGRESS}`;
}

const ESCAPED_ENDINGS = [REPORT, STAGED, PROGRESS, ESCAPE];

/**
 * The name a handled file has in processed/ or rejected/: its path in incoming, with `~` added
 * when it ends like a name the importer writes there. A partner can upload `x.csv.report.json`:
 * kept under that name, it took the place of `x.csv`'s report (the evidence of why `x.csv` was
 * refused), or `x.csv`'s report later overwrote it (the partner's file lost). One-to-one, since a
 * name already ending in `~` gets another; and no name it gives ends like the importer's. A
 * file's report is still named by its path in incoming (`x.csv.report.json.report.json`).
 */
export function handledName(blobName: string): string {
  return ESCAPED_ENDINGS.some((ending) => blobName.endsWith(ending)) ? `${blobName}${ESCAPE}` : blobName;
}
