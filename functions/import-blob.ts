import { receiveFile } from '../shared/imports/receive-file.js';
import { getServices } from '../shared/services.js';
import { registerBlob } from './registry.js';

registerBlob({
  name: 'importBlob',
  path: 'incoming/{partyId}/{datasetId}/{fileName}',
  connection: 'AzureWebJobsStorage',
  handler: async (blob, context) => {
    const metadata = context.triggerMetadata ?? {};
    const partyId = String(metadata.partyId);
    const datasetId = String(metadata.datasetId);
    const fileName = String(metadata.fileName);
    const content = Buffer.isBuffer(blob) ? blob : Buffer.from(blob as Uint8Array);
    const services = await getServices();
    await receiveFile(services, { blobName: `${partyId}/${datasetId}/${fileName}`, partyId, datasetId, content });
  },
});
