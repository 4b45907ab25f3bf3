import { containersReachable } from '../blob/blob-storage.js';
import type { Services } from '../services.js';

export type ComponentStatus = 'up' | 'down';

export interface HealthReport {
  status: ComponentStatus;
  checks: { configuration: ComponentStatus; store: ComponentStatus; blobStorage: ComponentStatus };
}

const CHECK_TIMEOUT_MS = 3000;

async function probe(check: () => Promise<unknown>): Promise<ComponentStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return 'up';
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What an operator's probe needs and nothing more: component names and up/down. No versions,
 * hosts or counts, since the endpoint is unauthenticated.
 */
export async function checkHealth(services: Promise<Services>): Promise<HealthReport> {
  let ready: Services;
  try {
    ready = await services;
  } catch {
    return { status: 'down', checks: { configuration: 'down', store: 'down', blobStorage: 'down' } };
  }
  const [store, blobStorage] = await Promise.all([
    probe(() => ready.store.dialect.ping(ready.store.db)),
    probe(async () => {
      if (!(await containersReachable(ready.blobs))) throw new Error('container missing');
    }),
  ]);
  const status = store === 'up' && blobStorage === 'up' ? 'up' : 'down';
  return { status, checks: { configuration: 'up', store, blobStorage } };
}
