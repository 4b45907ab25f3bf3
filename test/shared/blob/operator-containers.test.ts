import { describe, expect, inject, it } from 'vitest';
import { createServices } from '../../../shared/services.js';
import { testSettings } from '../../support/settings.js';

/**
 * Azurite under another account key: it refuses every request 403, as Blob Storage refuses an
 * identity with no role on a container.
 */
function refusedStorage(): string {
  const connection = inject('azuriteConnectionString');
  expect(connection).toMatch(/AccountKey=[^;]+/);
  return connection.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 7).toString('base64')}`);
}

/**
 * An operator's script (relink, purge-dataset, curate, audit) signs in as the operator, whose
 * storage role covers the container that script uses, if any: not the account. Its start made sure
 * every container lintel owns exists, so `relink`, which uses none, needed a role on the account,
 * and with it read access to partners' files in `incoming/` (infra/README.md, "Operator access").
 */
describe('the start of an operator script whose identity may create no container', () => {
  it('passes over the containers it may not create, and starts', async () => {
    const settings = { ...testSettings(), AzureWebJobsStorage: refusedStorage() };
    const services = await createServices(settings, undefined, { operatorScript: true });
    await services.close();
  });

  it("still stops a host refused by its own storage: the app's identity holds a role on the account", async () => {
    const settings = { ...testSettings(), AzureWebJobsStorage: refusedStorage() };
    await expect(createServices(settings)).rejects.toMatchObject({ statusCode: 403 });
  });
});
