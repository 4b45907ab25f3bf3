import {
  blobCreatedEventSchema,
  createdBlobOf,
  eventOfQueueMessage,
  isTemporaryUpload,
  matchBlobPath,
} from '../shared/blob/blob-created-event.js';
import { blobProgressSink } from '../shared/imports/import-progress.js';
import {
  importExtract,
  ImportFailed,
  rejectMisplacedExtract,
  type ImportDependencies,
} from '../shared/imports/import-extract.js';
import { linkAfterImport, linkPendingRecords } from '../shared/linkage/pending-links.js';
import { enforceRetention } from '../shared/retention/enforce-retention.js';
import { errorKind } from '../shared/logging.js';
import { getServices } from '../shared/services.js';
import { warmRowWorker } from '../shared/imports/row-worker-client.js';
import { registerBlobCreated } from './registry.js';

/**
 * Event Grid `BlobCreated` on `incoming/{partyId}/{datasetId}/{fileName}`, through the
 * `import-blob-created` queue: import the extract. A `BlobRenamed` imports the file under the
 * name it was renamed to; a file under an SFTP client's temporary name (`.filepart`) is left
 * alone, for the client to rename when the upload is whole.
 * A file elsewhere in incoming (at the top, in one folder, or deeper) is rejected as `bad-path`,
 * with its report in rejected/; events of other containers are ignored.
 * A thrown error leaves the file in incoming and the message in the queue, which hands it over
 * again after host.json's `visibilityTimeout` (the import resumes it); host.json's
 * `maxDequeueCount` is more than the import's own attempts, so the delivery after the last one
 * rejects the file with `import-attempts-exhausted` and a report rather than leaving it to the
 * poison queue. The error thrown to the host is an `ImportFailed`, which names the failure's kind
 * and the run, never the message of the error underneath: the host logs message and stack, and a
 * driver's message can quote a value.
 * After a load, the agreement's records are linked into people, then its joint-system retention
 * rules are applied to them, then what their deletions left for a pass is linked (linkPending and
 * enforceRetention catch up on a failure).
 */
registerBlobCreated({
  name: 'importBlob',
  container: 'incoming',
  queue: 'import-blob-created',
  handler: async (message, context) => {
    const services = await getServices();
    const event = eventOfQueueMessage(message);
    const parsed = blobCreatedEventSchema.safeParse(event);
    if (!parsed.success) {
      if (!isEventGridEvent(event)) {
        // Not what Event Grid writes: thrown, so that after its retries the message lands in the
        // poison queue the operator watches (infra/README.md), rather than vanishing while a file
        // may wait in incoming/.
        services.logger.error('import.message-unreadable', { invocationId: context.invocationId });
        throw new Error('The queue message is not an Event Grid event');
      }
      services.logger.warn('import.event-ignored', {
        invocationId: context.invocationId,
        reason: 'not-a-blob-created-event',
      });
      return;
    }
    const blob = createdBlobOf(parsed.data);
    if (blob.container !== 'incoming') {
      services.logger.warn('import.event-ignored', {
        invocationId: context.invocationId,
        reason: 'not-incoming',
      });
      return;
    }
    if (isTemporaryUpload(blob.blobName)) {
      services.logger.info('import.event-ignored', {
        invocationId: context.invocationId,
        reason: 'temporary-upload',
      });
      return;
    }
    const deps: ImportDependencies = {
      store: services.store,
      blobs: services.blobs,
      agreements: services.agreements,
      secrets: services.secrets,
      logger: services.logger,
      accessLog: services.accessLog,
      maxBadRowShare: services.settings.IMPORT_MAX_BAD_ROW_SHARE,
      hooks: {
        progress: (blobName) => blobProgressSink(services.blobs, blobName),
        afterLoad: async (runId) => {
          const linked = await linkAfterImport(services, runId);
          if (!linked) return;
          // The file is loaded: a failure here is not the import's, and must not send the message
          // round again. It is logged (retention.failed), and the half-hourly pass catches up.
          const retained = await enforceRetention(services, linked.agreementId).catch(() => []);
          // The people its deletions may have changed are linked again at once; should that fail
          // (linkage.pending-failed), the five-minute timer links them.
          if (retained.some((summary) => summary.recordsDeleted > 0))
            await linkPendingRecords(services, linked.agreementId).catch(() => undefined);
        },
      },
    };
    const path = matchBlobPath('{partyId}/{datasetId}/{fileName}', blob.blobName);
    // A file at the wrong depth is rejected with a report (`bad-path`), not left in incoming.
    const outcome = await (
      path
        ? importExtract(deps, {
            blobName: blob.blobName,
            partyId: path.partyId!,
            datasetId: path.datasetId!,
            fileName: path.fileName!,
          })
        : rejectMisplacedExtract(deps, blob.blobName)
    )
      .catch((err: unknown) => {
        // Both throw ImportFailed only; this is the host's edge, so make sure of it.
        throw err instanceof ImportFailed ? err : new ImportFailed(errorKind(err), undefined);
      })
      // A large file took the spare row worker: the next gets one ready (warmThreads).
      .finally(warmRowWorker);
    context.log(`import ${outcome.outcome}`);
  },
});

/** An Event Grid event of some kind (another event type than BlobCreated is ignored, not poison). */
function isEventGridEvent(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && typeof (value as { eventType?: unknown }).eventType === 'string'
  );
}
