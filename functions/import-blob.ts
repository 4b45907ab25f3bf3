import { blobCreatedEventSchema, createdBlobOf, matchBlobPath } from '../shared/blob/blob-created-event.js';
import { receiveFile } from '../shared/imports/receive-file.js';
import { getServices } from '../shared/services.js';
import { registerBlobCreated } from './registry.js';

registerBlobCreated({
  name: 'importBlob',
  container: 'incoming',
  handler: async (event, context) => {
    const services = await getServices();
    const parsed = blobCreatedEventSchema.safeParse(event);
    if (!parsed.success) {
      services.logger.warn('import.event-ignored', { invocationId: context.invocationId, reason: 'not-a-blob-created-event' });
      return;
    }
    const blob = createdBlobOf(parsed.data);
    const path = matchBlobPath('{partyId}/{datasetId}/{fileName}', blob.blobName);
    if (blob.container !== 'incoming' || !path) {
      services.logger.warn('import.event-ignored', { invocationId: context.invocationId, reason: 'path-not-party-dataset-file' });
      return;
    }
    const content = await services.blobs.getContainerClient(blob.container).getBlobClient(blob.blobName).downloadToBuffer();
    await receiveFile(services, { blobName: blob.blobName, partyId: path.partyId!, datasetId: path.datasetId!, content });
  },
});
