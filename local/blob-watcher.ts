import { randomUUID } from 'node:crypto';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import functions from '@azure/functions';
import type { BlobRegistration } from '../functions/registry.js';
import { errorKind, type Logger } from '../shared/logging.js';

const { InvocationContext } = functions;

/** Where the Functions host keeps its blob receipts; the local host keeps them in the same place. */
const RECEIPTS_CONTAINER = 'azure-webjobs-hosts';
const HOST_ID = 'lintel-local';
/** The blob trigger's default: five attempts, then the blob is given up on (a poison receipt). */
const MAX_ATTEMPTS = 5;

interface CompiledPath {
  container: string;
  pattern: RegExp;
  names: string[];
}

export function compileBlobPath(path: string): CompiledPath {
  const slash = path.indexOf('/');
  if (slash <= 0) throw new Error(`Blob trigger path ${path} has no container`);
  const container = path.slice(0, slash);
  const names: string[] = [];
  const source = path
    .slice(slash + 1)
    .split(/(\{[A-Za-z_][A-Za-z0-9_]*\})/)
    .map((part) => {
      const name = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(part)?.[1];
      if (!name) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(name);
      // Like the Functions host, a binding expression matches within one path segment.
      return '([^/]+)';
    })
    .join('');
  return { container, names, pattern: new RegExp(`^${source}$`) };
}

/**
 * Azurite has no Event Grid, so the local host scans the watched containers and calls the
 * registered blob handler with the blob's bytes and the trigger metadata the Functions host
 * would give it. A receipt per (function, blob, ETag) makes each version of a blob fire once,
 * also across restarts; a handler that throws is retried on later scans.
 */
export class BlobWatcher {
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private stopped = false;
  private readonly attempts = new Map<string, number>();
  private readonly receipts: ContainerClient;

  constructor(
    private readonly blobs: BlobServiceClient,
    private readonly registrations: readonly BlobRegistration[],
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
  ) {
    this.receipts = blobs.getContainerClient(RECEIPTS_CONTAINER);
  }

  async start(): Promise<void> {
    await this.receipts.createIfNotExists();
    const tick = () => {
      if (this.stopped) return;
      this.scanning = this.scanOnce()
        .catch((err: unknown) => this.logger.warn('localhost.blob.scan-failed', { error: errorKind(err) }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.scanning;
  }

  /** One pass over every watched container; resolves when every new blob has been handled. */
  async scanOnce(): Promise<void> {
    for (const registration of this.registrations) {
      const path = compileBlobPath(registration.path);
      const container = this.blobs.getContainerClient(path.container);
      for await (const item of container.listBlobsFlat({ includeMetadata: true })) {
        if (this.stopped) return;
        const match = path.pattern.exec(item.name);
        if (!match) continue;
        const etag = (item.properties.etag ?? '').replaceAll('"', '');
        const receipt = this.receipts.getBlockBlobClient(`blobreceipts/${HOST_ID}/${registration.name}/${etag}/${path.container}/${item.name}`);
        if (await receipt.exists()) continue;
        const bindings: Record<string, string> = {};
        path.names.forEach((name, i) => (bindings[name] = match[i + 1]!));
        await this.invoke(registration, container, item.name, etag, bindings, item.metadata ?? {}, receipt);
      }
    }
  }

  private async invoke(
    registration: BlobRegistration,
    container: ContainerClient,
    blobName: string,
    etag: string,
    bindings: Record<string, string>,
    metadata: Record<string, string>,
    receipt: ReturnType<ContainerClient['getBlockBlobClient']>,
  ): Promise<void> {
    const blob = container.getBlobClient(blobName);
    const invocationId = randomUUID();
    const key = `${registration.name}/${etag}`;
    try {
      const content = await blob.downloadToBuffer();
      const properties = await blob.getProperties();
      const context = new InvocationContext({
        invocationId,
        functionName: registration.name,
        triggerMetadata: {
          ...bindings,
          blobTrigger: `${container.containerName}/${blobName}`,
          uri: blob.url,
          properties: { length: properties.contentLength, eTag: etag, contentType: properties.contentType, lastModified: properties.lastModified?.toISOString() },
          metadata,
        },
        options: { trigger: { type: 'blobTrigger', name: 'blob', path: registration.path, connection: registration.connection } },
        logHandler: (level, ...args) =>
          this.logger[level === 'error' || level === 'critical' ? 'error' : level === 'warning' ? 'warn' : 'info']('function.log', {
            functionName: registration.name,
            invocationId,
            message: args.map(String).join(' '),
          }),
      });
      await registration.handler(content, context);
      await receipt.upload('', 0, { metadata: { status: 'succeeded', invocationid: invocationId.replaceAll('-', '') } });
      this.attempts.delete(key);
      this.logger.info('localhost.blob.handled', { functionName: registration.name, invocationId });
    } catch (err) {
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      this.logger.warn('localhost.blob.handler-failed', { functionName: registration.name, invocationId, attempt, error: errorKind(err) });
      if (attempt >= MAX_ATTEMPTS) {
        await receipt.upload('', 0, { metadata: { status: 'poison', invocationid: invocationId.replaceAll('-', '') } });
        this.attempts.delete(key);
      }
    }
  }
}
