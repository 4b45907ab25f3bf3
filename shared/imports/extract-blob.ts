import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { RestError, type BlobClient, type BlobRequestConditions, type BlobServiceClient } from '@azure/storage-blob';
import { CONTAINERS } from '../blob/blob-storage.js';
import { handledName, reportBlobName } from './handled-names.js';
import type { ImportReport } from './import-report.js';
import type { RangeReader } from './zip-directory.js';

/**
 * The blob side of an import. Every read of the file is pinned to the ETag seen when the import
 * began (`ifMatch`), so all passes read the same bytes: a partner overwriting the blob midway
 * makes the read fail and the new version is imported on its own event.
 */

export interface ExtractBlobProperties {
  readonly etag: string;
  readonly size: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly lastModified: Date;
}

/** The containers an import reads from and moves to; tests give their own so suites cannot collide. */
export interface ImportContainers {
  readonly incoming: string;
  readonly processed: string;
  readonly rejected: string;
}

export const IMPORT_CONTAINERS: ImportContainers = {
  incoming: CONTAINERS.incoming,
  processed: CONTAINERS.processed,
  rejected: CONTAINERS.rejected,
};

export type Destination = 'processed' | 'rejected';

export function incomingBlob(blobs: BlobServiceClient, containers: ImportContainers, blobName: string): BlobClient {
  return blobs.getContainerClient(containers.incoming).getBlobClient(blobName);
}

/** The blob's properties, or undefined when it is gone (already imported and moved). */
export async function extractProperties(blob: BlobClient): Promise<ExtractBlobProperties | undefined> {
  try {
    const p = await blob.getProperties();
    return {
      etag: p.etag ?? '',
      size: p.contentLength ?? 0,
      metadata: p.metadata ?? {},
      lastModified: p.lastModified ?? new Date(),
    };
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return undefined;
    throw err;
  }
}

export async function openExtract(blob: BlobClient, etag: string): Promise<Readable> {
  const response = await blob.download(0, undefined, { conditions: { ifMatch: etag }, maxRetryRequests: 5 });
  const body = response.readableStreamBody;
  if (body === undefined) throw new Error('Blob download returned no body');
  return body as Readable;
}

/** SHA-256 (hex) and length of the blob's bytes, streamed. */
export async function hashExtract(blob: BlobClient, etag: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await openExtract(blob, etag)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

export function rangeReader(blob: BlobClient, etag: string): RangeReader {
  return async (offset, length) => {
    if (length === 0) return new Uint8Array(0);
    const response = await blob.download(offset, length, { conditions: { ifMatch: etag } });
    const parts: Buffer[] = [];
    for await (const chunk of response.readableStreamBody as Readable) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  };
}

/**
 * Writes `<file>.report.json` beside where the file goes (or the report under `reportName`: a
 * staged copy). Overwrites, unless `conditions` say otherwise: a retried run writes the same report.
 */
export async function writeReport(
  blobs: BlobServiceClient,
  containers: ImportContainers,
  destination: Destination,
  blobName: string,
  report: ImportReport,
  reportName = reportBlobName(blobName),
  conditions?: BlobRequestConditions,
): Promise<void> {
  const body = JSON.stringify(report, null, 2);
  await blobs
    .getContainerClient(containers[destination])
    .getBlockBlobClient(reportName)
    .upload(body, Buffer.byteLength(body), { blobHTTPHeaders: { blobContentType: 'application/json' }, conditions });
}

/**
 * Writes the file's report only over the one read ({@link readReportVersion}'s ETag), or only where
 * there is none (`seenEtag` undefined): false, writing nothing, where another delivery has written
 * one since.
 */
export async function replaceReport(
  blobs: BlobServiceClient,
  containers: ImportContainers,
  destination: Destination,
  blobName: string,
  report: ImportReport,
  seenEtag: string | undefined,
): Promise<boolean> {
  try {
    await writeReport(
      blobs,
      containers,
      destination,
      blobName,
      report,
      reportBlobName(blobName),
      seenEtag === undefined ? { ifNoneMatch: '*' } : { ifMatch: seenEtag },
    );
    return true;
  } catch (err) {
    if (err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412)) return false;
    throw err;
  }
}

/** The report {@link writeReport} wrote, or undefined if there is none. */
export async function readReport(
  blobs: BlobServiceClient,
  containers: ImportContainers,
  destination: Destination,
  blobName: string,
  reportName = reportBlobName(blobName),
): Promise<ImportReport | undefined> {
  return (await readReportVersion(blobs, containers, destination, blobName, reportName))?.report;
}

/** The report {@link writeReport} wrote and its ETag, or undefined if there is none. */
export async function readReportVersion(
  blobs: BlobServiceClient,
  containers: ImportContainers,
  destination: Destination,
  blobName: string,
  reportName = reportBlobName(blobName),
): Promise<{ readonly report: ImportReport; readonly etag: string } | undefined> {
  try {
    const response = await blobs.getContainerClient(containers[destination]).getBlobClient(reportName).download();
    const parts: Buffer[] = [];
    for await (const chunk of response.readableStreamBody as Readable) parts.push(chunk as Buffer);
    return {
      report: JSON.parse(Buffer.concat(parts).toString('utf8')) as ImportReport,
      etag: response.etag ?? '',
    };
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return undefined;
    throw err;
  }
}

/**
 * Copies the file to `destination` (under {@link handledName}) and deletes it from incoming — only
 * the version that was imported: a newer upload under the same name stays for its own import.
 */
export async function moveExtract(
  blobs: BlobServiceClient,
  containers: ImportContainers,
  blobName: string,
  etag: string,
  destination: Destination,
): Promise<void> {
  const source = incomingBlob(blobs, containers, blobName);
  const target = blobs.getContainerClient(containers[destination]).getBlobClient(handledName(blobName));
  try {
    const poller = await target.beginCopyFromURL(source.url, { sourceConditions: { ifMatch: etag } });
    await poller.pollUntilDone();
  } catch (err) {
    if (err instanceof RestError && (err.statusCode === 404 || err.statusCode === 412)) return;
    throw err;
  }
  await source.deleteIfExists({ conditions: { ifMatch: etag } }).catch((err: unknown) => {
    if (!(err instanceof RestError && err.statusCode === 412)) throw err;
  });
}
