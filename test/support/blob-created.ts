import { randomUUID } from 'node:crypto';
import type { EventGridEvent } from '@azure/functions';

/**
 * The Event Grid event a BlobCreated subscription delivers for `incoming/<blobName>` on Azurite's
 * development account, as the Functions host hands it to the registered import function.
 */
export function blobCreated(blobName: string): EventGridEvent {
  return {
    id: randomUUID(),
    topic: '/subscriptions/test/resourceGroups/test/providers/Microsoft.Storage/storageAccounts/devstoreaccount1',
    subject: `/blobServices/default/containers/incoming/blobs/${blobName}`,
    eventType: 'Microsoft.Storage.BlobCreated',
    eventTime: new Date().toISOString(),
    dataVersion: '',
    metadataVersion: '1',
    data: { api: 'PutBlob', url: `http://127.0.0.1/devstoreaccount1/incoming/${blobName}`, blobType: 'BlockBlob' },
  };
}
