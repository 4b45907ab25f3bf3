import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Settings } from '../../../shared/config.js';
import { createServices, type Services } from '../../../shared/services.js';
import { loggedWhile } from '../../support/logged-lines.js';
import { testSettings } from '../../support/settings.js';

const blobs = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));

/**
 * Every start created `audit-anchors` again when it was gone, without its WORM policy, and said
 * nothing: the checkpointer's own alarm for a container it created (74c9e13) then never fired, as
 * the container was there again by its first run, and while the store recorded no checkpoint,
 * verify had no anchor to name missing either. Each test has an anchor container of its own: the
 * shared `audit-anchors` is other test files' at the same time.
 */
describe('an anchor container created at start', () => {
  const containers: string[] = [];
  afterEach(async () => {
    for (const name of containers.splice(0)) await blobs.getContainerClient(name).deleteIfExists();
  });

  function ownContainer(): string {
    const name = `anchors-${randomUUID().slice(0, 8)}`;
    containers.push(name);
    return name;
  }

  /** The checkpoint alarms a host logs while starting, and the services it started. */
  async function start(settings: Settings, container: string): Promise<{ alarms: unknown[]; services: Services }> {
    const { result: services, lines } = await loggedWhile(() =>
      createServices({ ...settings, LOG_LEVEL: 'warn' }, undefined, { anchorContainer: container }),
    );
    return { alarms: lines.filter((line) => line.event === 'audit.checkpoint-alarm'), services };
  }

  async function logOneSearch(services: Services): Promise<void> {
    await services.accessLog.append({
      requestId: `req-${randomUUID()}`,
      partyId: 'kettering-borough-council',
      clientId: 'client',
      roles: ['housing-officer'],
      purpose: 'housing-allocation',
      action: 'person.search',
      subjectRef: 'person-1',
      datasets: ['keyways-housing-register'],
      fields: ['keyways-housing-register.firstName'],
      decision: 'allow',
      reasonCode: 'granted',
    });
  }

  it('is quiet on a fresh store: a first start legitimately creates it', async () => {
    const container = ownContainer();
    const { alarms, services } = await start(testSettings(), container);
    await services.close();
    expect(alarms).toEqual([]);
    expect(await blobs.getContainerClient(container).exists()).toBe(true);
  });

  it('raises the checkpoint alarm when the access log already holds entries and nothing was anchored yet', async () => {
    const settings = testSettings();
    const container = ownContainer();
    const first = await start(settings, container);
    await logOneSearch(first.services);
    await first.services.close();
    // Deleted before the first checkpoint: the store records none, so verify names no anchor missing.
    await blobs.getContainerClient(container).delete();

    const { alarms, services } = await start(settings, container);
    await services.close();
    expect(alarms).toEqual([
      {
        time: expect.any(String),
        level: 'warn',
        event: 'audit.checkpoint-alarm',
        reason: 'anchor-container-created',
        container,
        action: 're-apply-immutability-policy',
      },
    ]);
    // Said once, by the start that created it.
    const again = await start(settings, container);
    await again.services.close();
    expect(again.alarms).toEqual([]);
  });
});
