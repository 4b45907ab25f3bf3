import { randomUUID } from 'node:crypto';
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import functions from '@azure/functions';
import type { EventGridEvent } from '@azure/functions';
import { QUEUE_MAX_DELIVERIES, type BlobCreatedRegistration } from '../functions/registry.js';
import { errorKind, type Logger } from '../shared/logging.js';
import { functionLogHandler } from './function-log.js';

const { InvocationContext } = functions;

/** Where the Functions host keeps its blob receipts; the local host keeps them in the same place. */
const RECEIPTS_CONTAINER = 'azure-webjobs-hosts';
const HOST_ID = 'lintel-local';
/**
 * Azurite has no Event Grid, so the local host scans the watched containers and hands the
 * registered handler the `BlobCreated` event Event Grid would write to the queue. A receipt per
 * (function, blob, ETag) makes each version of a blob fire once, also across restarts; a handler
 * that throws is retried on later scans, like the queue's redelivery (without host.json's
 * `visibilityTimeout` of minutes: locally a retry comes with the next scan).
 */
export class BlobWatcher {
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private stopped = false;
  /**
   * Cuts the watcher's own calls to storage (listing, receipts) when it stops: with Azurite gone,
   * the SDK retries each for many seconds and stop() would wait all of them out. Never handed to
   * a handler: an import cut mid-way by the watcher would leave its run half-done, so a delivery
   * in progress finishes and only what the watcher does after it is cut.
   */
  private readonly stopping = new AbortController();
  private readonly attempts = new Map<string, number>();
  private readonly receipts: ContainerClient;

  constructor(
    private readonly blobs: BlobServiceClient,
    private readonly registrations: readonly BlobCreatedRegistration[],
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
        .catch((err: unknown) => {
          if (!this.cutByStop(err)) this.logger.warn('localhost.blob.scan-failed', { error: errorKind(err) });
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.scanning;
  }

  /** One pass over every watched container; resolves when every new blob has been handled. */
  async scanOnce(): Promise<void> {
    const abortSignal = this.stopping.signal;
    for (const registration of this.registrations) {
      const container = this.blobs.getContainerClient(registration.container);
      for await (const item of container.listBlobsFlat({ abortSignal })) {
        if (this.stopped) return;
        const etag = (item.properties.etag ?? '').replaceAll('"', '');
        const receipt = this.receipts.getBlockBlobClient(
          `blobreceipts/${HOST_ID}/${registration.name}/${etag}/${registration.container}/${item.name}`,
        );
        if (await receipt.exists({ abortSignal })) continue;
        const event: EventGridEvent = {
          id: randomUUID(),
          topic: `/subscriptions/local/resourceGroups/local/providers/Microsoft.Storage/storageAccounts/${this.blobs.accountName}`,
          // The blob name URL-encoded, as in the blob's URL: the handler decodes it (blob-created-event.ts).
          subject: `/blobServices/default/containers/${registration.container}/blobs/${encodeBlobPath(item.name)}`,
          eventType: 'Microsoft.Storage.BlobCreated',
          eventTime: (item.properties.lastModified ?? new Date()).toISOString(),
          dataVersion: '',
          metadataVersion: '1',
          data: {
            api: 'PutBlob',
            url: container.getBlobClient(item.name).url,
            eTag: item.properties.etag,
            contentType: item.properties.contentType,
            contentLength: item.properties.contentLength,
            blobType: 'BlockBlob',
          },
        };
        await this.deliver(registration, event, etag, receipt);
      }
    }
  }

  private async deliver(
    registration: BlobCreatedRegistration,
    event: EventGridEvent,
    etag: string,
    receipt: ReturnType<ContainerClient['getBlockBlobClient']>,
  ): Promise<void> {
    const invocationId = randomUUID();
    const key = `${registration.name}/${etag}`;
    let handled = false;
    try {
      const context = new InvocationContext({
        invocationId,
        functionName: registration.name,
        options: { trigger: { type: 'queueTrigger', name: 'message' } },
        logHandler: functionLogHandler(this.logger, registration.name, invocationId),
      });
      await registration.handler(event, context);
      handled = true;
      await receipt.upload('', 0, {
        abortSignal: this.stopping.signal,
        metadata: { status: 'succeeded', invocationid: invocationId.replaceAll('-', '') },
      });
      this.attempts.delete(key);
      this.logger.info('localhost.blob.handled', { functionName: registration.name, invocationId });
    } catch (err) {
      // The handler finished; its receipt was cut by stop(), so the blob is delivered again on the next start.
      if (handled && this.cutByStop(err)) throw err;
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      this.logger.warn('localhost.blob.handler-failed', {
        functionName: registration.name,
        invocationId,
        attempt,
        error: errorKind(err),
      });
      // As the queue in Azure does: the blob is given up on (a poison receipt) after its last delivery.
      if (attempt >= QUEUE_MAX_DELIVERIES) {
        await receipt.upload('', 0, {
          abortSignal: this.stopping.signal,
          metadata: { status: 'poison', invocationid: invocationId.replaceAll('-', '') },
        });
        this.attempts.delete(key);
      }
    }
  }

  /** Whether a call failed because stop() aborted it, which is no failure to report. */
  private cutByStop(err: unknown): boolean {
    return this.stopping.signal.aborted && err instanceof Error && err.name === 'AbortError';
  }
}

/** Each `/`-separated segment of a blob name percent-encoded, as it appears in the blob's URL. */
function encodeBlobPath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}
