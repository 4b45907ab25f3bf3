import { z } from 'zod';

/**
 * The Event Grid `Microsoft.Storage.BlobCreated` event (or `BlobRenamed`, for the name a file
 * is renamed to), as Azure delivers it and as the local host builds it for Azurite. Imports are driven by this event rather than by a blob binding
 * because a binding hands the handler the whole file in memory; the event carries only where
 * the blob is, so the import can stream it.
 */
const subject = z.string().regex(/^\/blobServices\/default\/containers\/[^/]+\/blobs\/.+$/);

const createdEventSchema = z.object({
  id: z.string(),
  eventType: z.literal('Microsoft.Storage.BlobCreated'),
  subject,
  eventTime: z.string(),
  data: z.object({
    url: z.string(),
    eTag: z.string().optional(),
    contentLength: z.number().int().nonnegative().optional(),
    contentType: z.string().optional(),
  }),
});

/**
 * A rename (SFTP or Data Lake) is how a file uploaded under a temporary name gets its own: WinSCP
 * uploads `<name>.filepart` and renames it once complete, and no BlobCreated names the final
 * file. Its subject and `destinationUrl` name the file after the rename, read as a created blob.
 */
const renamedEventSchema = z
  .object({
    id: z.string(),
    eventType: z.literal('Microsoft.Storage.BlobRenamed'),
    subject,
    eventTime: z.string(),
    data: z.object({ destinationUrl: z.string() }),
  })
  .transform((e) => ({ ...e, data: { url: e.data.destinationUrl } as z.infer<typeof createdEventSchema>['data'] }));

export const blobCreatedEventSchema = z.union([createdEventSchema, renamedEventSchema]);

export type BlobCreatedEvent = z.infer<typeof blobCreatedEventSchema>;

/**
 * The event a storage-queue message carries. In Azure, Event Grid writes each event to a queue
 * and the import function is that queue's trigger; the Functions host hands over the message
 * already parsed when it is JSON. Event Grid has written the text both as is and in base64 over
 * the years, and the host decodes base64 only when host.json says so, so a string is read as
 * JSON, then as base64 JSON. Anything else comes back unchanged for the schema to refuse.
 */
export function eventOfQueueMessage(message: unknown): unknown {
  if (typeof message !== 'string') return message;
  const text = message.trim();
  const json = (candidate: string): unknown => {
    try {
      return JSON.parse(candidate) as unknown;
    } catch {
      return undefined;
    }
  };
  if (text.startsWith('{')) return json(text) ?? message;
  const base64 = text.replace(/\s+/g, '');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return json(Buffer.from(base64, 'base64').toString('utf8')) ?? message;
  return message;
}

export interface CreatedBlob {
  container: string;
  /** Path inside the container. */
  blobName: string;
  eTag: string | undefined;
  contentLength: number | undefined;
}

export function createdBlobOf(event: BlobCreatedEvent): CreatedBlob {
  const [, container, named] = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/.exec(event.subject)!;
  return {
    container: container!,
    blobName: blobNameOf(container!, named!, event.data.url),
    eTag: event.data.eTag,
    contentLength: event.data.contentLength,
  };
}

/**
 * The blob's name from the event's subject, checked against its URL. Azure's schema does not say
 * whether the subject holds the name as is or URL-encoded (the local host's watcher encodes it),
 * while `data.url` is always encoded; a name may itself hold `%` (`50%-sample.csv`, `a%41.csv`).
 * So the subject's text is taken as is when the decoded URL ends with it, decoded when that
 * matches instead, and otherwise decoded where it can be.
 */
function blobNameOf(container: string, inSubject: string, url: string): string {
  const decoded = decodedOrUndefined(inSubject);
  const path = urlPathOf(url);
  if (path !== undefined) {
    if (path.endsWith(`/${container}/${inSubject}`)) return inSubject;
    if (decoded !== undefined && path.endsWith(`/${container}/${decoded}`)) return decoded;
  }
  return decoded ?? inSubject;
}

function decodedOrUndefined(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function urlPathOf(url: string): string | undefined {
  try {
    return decodedOrUndefined(new URL(url).pathname);
  } catch {
    return undefined;
  }
}

/** `{partyId}/{datasetId}/{fileName}`-style path templates, matched within one segment each. */
export function matchBlobPath(template: string, blobName: string): Record<string, string> | undefined {
  const names: string[] = [];
  const source = template
    .split(/(\{[A-Za-z_][A-Za-z0-9_]*\})/)
    .map((part) => {
      const name = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part)?.[1];
      if (!name) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(name);
      return '([^/]+)';
    })
    .join('');
  const match = new RegExp(`^${source}$`).exec(blobName);
  if (!match) return undefined;
  return Object.fromEntries(names.map((n, i) => [n, match[i + 1]!]));
}

/**
 * Names SFTP clients give a file while it is still being written, and rename once it is whole
 * (WinSCP's `.filepart`). Such a file is left alone: its rename brings the import.
 */
export const TEMPORARY_UPLOAD_SUFFIXES = ['.filepart'] as const;

export function isTemporaryUpload(blobName: string): boolean {
  const lower = blobName.toLowerCase();
  return TEMPORARY_UPLOAD_SUFFIXES.some((suffix) => lower.endsWith(suffix));
}
