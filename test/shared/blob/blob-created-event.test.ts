import { describe, expect, it } from 'vitest';
import { blobCreatedEventSchema, createdBlobOf } from '../../../shared/blob/blob-created-event.js';

/**
 * The import finds its file by the name in the BlobCreated event, whether the subject carries
 * the name as is or URL-encoded: the URL (always encoded) tells which.
 */

const ACCOUNT = 'https://stexample.blob.core.windows.net';
const encoded = (name: string) => name.split('/').map(encodeURIComponent).join('/');

function eventFor(subjectName: string, name: string) {
  return blobCreatedEventSchema.parse({
    id: '1',
    eventType: 'Microsoft.Storage.BlobCreated',
    subject: `/blobServices/default/containers/incoming/blobs/${subjectName}`,
    eventTime: '2026-12-01T00:00:00Z',
    data: { url: `${ACCOUNT}/incoming/${encoded(name)}` },
  });
}

describe('the blob a BlobCreated event names', () => {
  it.each([
    'la-housing/multiple-disadvantage-indicators/extract-2026-03-01.csv',
    'la-housing/multiple-disadvantage-indicators/extract 50% sample.csv',
    'la-housing/multiple-disadvantage-indicators/a%41b.csv',
    'la-housing/multiple-disadvantage-indicators/a%2520b.csv',
    'la-housing/multiple-disadvantage-indicators/Ünïcödé £.csv',
  ])('is %j whether the subject holds it as is or encoded', (name) => {
    expect(createdBlobOf(eventFor(name, name)).blobName).toBe(name);
    expect(createdBlobOf(eventFor(encoded(name), name)).blobName).toBe(name);
  });

  it('reads an Azurite URL (account in the path) alike', () => {
    const name = 'p/d/50% off.csv';
    const event = blobCreatedEventSchema.parse({
      ...eventFor(name, name),
      data: { url: `http://127.0.0.1:10000/devstoreaccount1/incoming/${encoded(name)}` },
    });
    expect(createdBlobOf(event).blobName).toBe(name);
  });
});
