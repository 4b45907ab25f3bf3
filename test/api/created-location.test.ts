import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../shared/api/openapi.js';
import { insertRecord, ROBIN_IN_SOCIAL_CARE, ROBIN_NHS } from '../support/records.js';
import { providerAlert } from '../support/alerts.js';
import { callApi, startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A 201 names what it created in `Location` (RFC 9110 §15.3.2), as a path on the host that
 * answered, and the OpenAPI document says so: a provider's client reads the consent it recorded
 * from there, a DPO's tool the breach record it opened, without building the path itself.
 */
describe('the Location of a consent recorded or a breach record opened', () => {
  let t: TestHost;
  const alertId = 'c'.repeat(32);

  type Responses = Record<string, { headers?: Record<string, { schema?: { type?: string } }> }>;
  const responsesOf = async (path: string, method: string): Promise<Responses> => {
    const res = await fetch(`${t.url}/api/openapi.json`);
    const doc = (await res.json()) as OpenApiDocument;
    return (doc.paths[path]![method] as { responses: Responses }).responses;
  };

  beforeAll(async () => {
    t = await startTestHost({ LINTEL_DEMO_SEED: 'off' });
    await insertRecord(t.host.services, ROBIN_IN_SOCIAL_CARE);
    const at = new Date().toISOString();
    await t.host.services.store.db.insertInto('audit_alert').values(providerAlert(alertId, at)).execute();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('names the consent recorded, and only when one was', async () => {
    const record = () =>
      callApi(t, '/v1/consents', {
        party: 'la-housing',
        roles: ['dpo'],
        purpose: 'service-planning',
        body: { kind: 'opt-out', subject: { nhsNumber: ROBIN_NHS }, evidenceRef: 'DPO/OPTOUT/LOC' },
      });
    const recorded = await record();
    expect(recorded.status, recorded.text).toBe(201);
    expect(recorded.headers.get('location')).toBe(`/api/v1/consents/${recorded.body.consentId as string}`);
    // The same one already in force: nothing created, so nothing named.
    const again = await record();
    expect(again.status).toBe(200);
    expect(again.headers.get('location')).toBeNull();
  });

  it('names the breach record opened, under which its steps are recorded', async () => {
    const open = () =>
      callApi(t, `/v1/audit/alerts/${alertId}/breach`, {
        party: 'kettering-borough-council',
        roles: ['dpo'],
        method: 'POST',
      });
    const opened = await open();
    expect(opened.status, opened.text).toBe(201);
    const location = opened.headers.get('location');
    expect(location).toBe(`/api/v1/audit/breaches/${opened.body.id as string}`);
    const step = await callApi(t, `${location!.slice('/api'.length)}/steps`, {
      party: 'kettering-borough-council',
      roles: ['dpo'],
      body: { step: 'partners-notified', at: new Date().toISOString() },
    });
    expect(step.status, step.text).toBe(200);
    expect((await open()).headers.get('location')).toBeNull();
  });

  it('declares Location on both 201 answers in the OpenAPI document', async () => {
    for (const [path, method] of [
      ['/api/v1/consents', 'post'],
      ['/api/v1/audit/alerts/{alertId}/breach', 'post'],
    ] as const) {
      const responses = await responsesOf(path, method);
      expect(responses['201']?.headers?.Location?.schema?.type, `${method} ${path}`).toBe('string');
      expect(responses['200']?.headers?.Location, `${method} ${path}`).toBeUndefined();
    }
  });
});
