import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../shared/api/openapi.js';
import { agreementsFolderWithout } from '../shared/agreements/agreement-files.js';
import { robinOptedOutByLaHousing } from '../support/records.js';
import { restartTestHost, startTestHost, withdrawConsent, type TestHost } from '../support/test-host.js';

type Parameter = { name: string; in: string; schema: { enum?: string[] } };

/**
 * The reference page and clients generated from the OpenAPI document offer `X-Purpose` as a list
 * of values. Withdrawing an opt-out recorded under an agreement that ended (its file removed)
 * takes one of that agreement's purposes, as the operation's own description says; the list held
 * only the purposes of the agreements in force, so the DPO could not send the one the API takes
 * from the page, and a generated client refused it before sending.
 */
describe('the OpenAPI document after an agreement ended', () => {
  let t: TestHost;
  let optOutId: string;

  const purposeValues = async (path: string, method: string): Promise<string[] | undefined> => {
    const doc = (await (await fetch(`${t.url}/api/openapi.json`)).json()) as OpenApiDocument;
    const operation = doc.paths[path]?.[method] as { parameters: Parameter[] };
    return operation.parameters.find((p) => p.name === 'X-Purpose')?.schema.enum;
  };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    ({ optOutId } = await robinOptedOutByLaHousing(t, 'DPO/OPTOUT/61'));
    t = await restartTestHost(t, { LINTEL_DEMO_SEED: 'off', AGREEMENTS_DIR: agreementsFolderWithout(['isa']) });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("offers the ended agreement's purpose for withdrawing an opt-out, which the API takes", async () => {
    const offered = await purposeValues('/api/v1/consents/{consentId}', 'delete');
    expect(offered).toContain('service-planning');
    const withdrawn = await withdrawConsent(t, optOutId, {
      party: 'la-housing',
      roles: ['dpo'],
      purpose: 'service-planning',
    });
    expect(withdrawn.status, withdrawn.text).toBe(200);
  });

  it('still offers only the purposes in force where a purpose grants something', async () => {
    expect(await purposeValues('/api/v1/people/search', 'post')).not.toContain('service-planning');
    expect(await purposeValues('/api/v1/consents', 'post')).not.toContain('service-planning');
  });
});
