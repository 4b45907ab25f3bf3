import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrations } from '../../../functions/index.js';
import type { BlobCreatedRegistration } from '../../../functions/registry.js';
import { blobCreated } from '../../support/blob-created.js';
import { callApi, DEMO_CLIENT_IDS, startTestHost, type TestHost } from '../../support/test-host.js';
import { agreementsFolderWithAdded } from './agreement-files.js';

const { InvocationContext } = functions;

const SOURCE = 'northgate-borough-council';
const PROVIDER = 'riverside-homes';
const DATASET = 'tenancy-sustainment-referrals';
const PURPOSE = 'tenancy-sustainment-referral';

/**
 * agreements/README.md's "Adding a new agreement", followed as written with a small agreement of
 * its own (test/fixtures/agreements/tenancy-sustainment.yaml): the file beside the others, its
 * parties' client ids in PARTY_CLIENT_IDS, the host started again. The source's extract is then
 * uploaded to incoming/ and handed to the registered import function as Event Grid hands it over,
 * and the provider looks a tenant up over HTTP: what the partnership would see on its first day.
 */
describe('an agreement added as agreements/README.md says', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost({
      AGREEMENTS_DIR: agreementsFolderWithAdded(),
      PARTY_CLIENT_IDS: JSON.stringify({
        ...DEMO_CLIENT_IDS,
        [`dev-client-${SOURCE}`]: SOURCE,
        [`dev-client-${PROVIDER}`]: PROVIDER,
      }),
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("imports the source's upload and answers the provider's lookup with the granted fields alone", async () => {
    // A name of its own in the shared incoming container: the test host watches no blobs, so
    // only the handler called here imports it.
    const blobName = `${SOURCE}/${DATASET}/referrals-${randomUUID()}.csv`;
    const body = Buffer.from(
      [
        'nationalInsuranceNumber,firstName,lastName,supportNeed,referralNote',
        'JG103759A,Aisha,Okafor,Budgeting support,Officer note',
        'AB123456C,Tom,Reyes,Benefit claim,',
      ].join('\n'),
    );
    const { blobs } = t.host.services;
    await blobs.getContainerClient('incoming').getBlockBlobClient(blobName).upload(body, body.length);
    const importBlob = registrations().find(
      (r): r is BlobCreatedRegistration => r.kind === 'blob-created' && r.name === 'importBlob',
    )!;
    await importBlob.handler(
      blobCreated(blobName),
      new InvocationContext({ invocationId: randomUUID(), functionName: 'importBlob' }),
    );
    expect(await blobs.getContainerClient('processed').getBlobClient(blobName).exists()).toBe(true);

    const token = await t.token(PROVIDER, ['tenancy-officer'], { clientId: `dev-client-${PROVIDER}` });
    const found = await callApi(t, '/v1/people/search', { token, purpose: PURPOSE, body: { niNumber: 'JG103759A' } });
    expect(found.status, found.text).toBe(200);
    expect(found.body).toMatchObject({ agreement: 'tenancy-sustainment', match: { tier: 1 } });
    expect(found.body.records).toEqual([
      expect.objectContaining({
        dataset: DATASET,
        source: SOURCE,
        fields: { firstName: 'Aisha', lastName: 'Okafor', supportNeed: 'Budgeting support' },
      }),
    ]);
  });
});
