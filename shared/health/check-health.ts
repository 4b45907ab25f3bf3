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
export function checkHealth(services: Promise<Services>): Promise<HealthReport> {
  // The endpoint takes no token, so no limit reaches it, and each check reads the store and asks
  // Blob Storage after every container: a flood of probes, from anyone, drew on the connections
  // and the storage account the partners' lookups need (found by a defect hunt). Probes that
  // come while a check runs, or within a moment of it, are answered with its report.
  const recent = recentChecks.get(services);
  if (recent && Date.now() - recent.at < REPORT_REUSE_MS) return recent.report;
  const report = runChecks(services);
  recentChecks.set(services, { at: Date.now(), report });
  // Reused from when it was made, not from when it settled: a slow check is not kept longer.
  return report;
}

/** How long a check's report answers the probes that follow it: a monitor polls in minutes. */
const REPORT_REUSE_MS = 1000;

/** The last check of each services instance, with when it began. */
const recentChecks = new WeakMap<Promise<Services>, { at: number; report: Promise<HealthReport> }>();

async function runChecks(services: Promise<Services>): Promise<HealthReport> {
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
