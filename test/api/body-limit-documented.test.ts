import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_BODY_BYTES } from '../../shared/api/json-body-limit.js';
import { startTestHost, type TestHost } from '../support/test-host.js';

/**
 * A partner builds its client from the OpenAPI document: the body limit it is refused 413 for must
 * be there, as the URL's is for 414, not learnt from the first refusal (found by a defect hunt).
 */
describe('the body size limit, as the OpenAPI document gives it', () => {
  let t: TestHost;

  beforeAll(async () => {
    t = await startTestHost();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('names the limit in every 413 an operation that takes a body can answer', async () => {
    const res = await fetch(`${t.url}/api/openapi.json`);
    expect(res.status).toBe(200);
    const document = (await res.json()) as {
      paths: Record<
        string,
        Record<string, { requestBody?: unknown; responses: Record<string, { description: string }> }>
      >;
    };
    const withBody = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => operation.requestBody !== undefined)
        .map(([method, operation]) => ({
          at: `${method} ${path}`,
          description: operation.responses['413']?.description,
        })),
    );
    expect(withBody.length).toBeGreaterThan(0);
    for (const { at, description } of withBody) expect.soft(description, at).toContain(`${MAX_JSON_BODY_BYTES} bytes`);
  });
});
