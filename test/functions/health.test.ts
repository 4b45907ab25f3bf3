import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import { afterEach, describe, expect, it } from 'vitest';
import '../../functions/health.js';
import { registrations, type HttpRegistration } from '../../functions/registry.js';
import { useServices } from '../../shared/services.js';

const { HttpRequest, InvocationContext } = functions;

describe('health function, as Azure runs it (services built from the environment)', () => {
  // Put back one by one: replacing process.env with a copy would leave the files this worker
  // runs next (they share its modules and process) a plain object, no longer the environment.
  const touched = ['AzureWebJobsStorage', 'AzureWebJobsStorage__blobServiceUri', 'LINTEL_ENV'] as const;
  const saved = touched.map((name) => [name, process.env[name]] as const);
  afterEach(() => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    useServices(undefined);
  });

  it('answers a configuration error with 503 and configuration down, not a bare 500', async () => {
    useServices(undefined);
    delete process.env.AzureWebJobsStorage;
    delete process.env.AzureWebJobsStorage__blobServiceUri;
    process.env.LINTEL_ENV = 'production';
    const health = registrations().find((r): r is HttpRegistration => r.kind === 'http' && r.name === 'health')!;
    const sent = randomUUID();
    const response = await health.handler(
      new HttpRequest({ method: 'GET', url: 'http://localhost/api/health', headers: { 'x-request-id': sent } }),
      new InvocationContext({ invocationId: randomUUID(), functionName: 'health' }),
    );
    expect(response.status).toBe(503);
    expect(JSON.parse(String(response.body))).toEqual({
      status: 'down',
      checks: { configuration: 'down', store: 'down', blobStorage: 'down' },
    });
    const headers = response.headers as Record<string, string>;
    expect(headers['x-request-id']).toBe(sent);
    expect(headers['cache-control']).toBe('no-store');
  });
});
