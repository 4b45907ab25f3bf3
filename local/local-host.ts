import type { BlobCreatedRegistration, HttpRegistration, TimerRegistration } from '../functions/registry.js';
import type { Settings } from '../shared/config.js';
import { resolve } from 'node:path';
import { DEVELOPMENT_ISSUER_PATH, developmentIssuer } from '../shared/auth/development-issuer.js';
import { json } from '../shared/http/problem.js';
import { createServices, useServices, warmThreads, type Services } from '../shared/services.js';
import { BlobWatcher } from './blob-watcher.js';
import { hostCustomHeaders } from './host-json.js';
import { startHttpServer } from './http-server.js';
import { TimerRunner } from './timer-runner.js';

export interface LocalHost {
  url: string;
  services: Services;
  watcher: BlobWatcher;
  stop(): Promise<void>;
}

export interface LocalHostOptions {
  settings: Settings;
  host?: string;
  port?: number;
  blobScanIntervalMs?: number;
  /**
   * Whether the blob watcher scans (default true). Tests that only call the API turn it off: the
   * watched containers are shared by every host on one Azurite, and a host that took another
   * test's file would log its import in its own access log.
   */
  watchBlobs?: boolean;
  /**
   * Whether the timers run (default true). Tests and benchmarks turn them off: timers fire at the
   * clock's boundaries (every five minutes on the five), so a short-lived host would write an
   * audit checkpoint into the anchors every host on one Azurite shares, or link mid-benchmark.
   */
  runTimers?: boolean;
}

/**
 * The product on one machine: the registered handlers served over HTTP and fired on blob
 * arrival, with services built from the given settings. Azurite is started by the caller.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { registrations } = await import('../functions/index.js');
  const services = await createServices(options.settings);
  warmThreads(services);
  useServices(Promise.resolve(services));
  const all = registrations();
  // The development issuer exists only off production: config.ts refuses its issuer there.
  const issuer =
    options.settings.LINTEL_ENV === 'production'
      ? undefined
      : await developmentIssuer(resolve(options.settings.DEV_ISSUER_KEY_PATH), options.settings.AUTH_ISSUER);
  const http = await startHttpServer({
    hostRoutes: (method, pathname) => {
      if (!issuer || method !== 'GET') return undefined;
      if (pathname === `${DEVELOPMENT_ISSUER_PATH}/jwks.json`) return json(200, issuer.jwks);
      if (pathname === `${DEVELOPMENT_ISSUER_PATH}/.well-known/openid-configuration`) {
        return json(200, { issuer: issuer.issuer, jwks_uri: options.settings.AUTH_JWKS_URI });
      }
      return undefined;
    },
    registrations: all.filter((r): r is HttpRegistration => r.kind === 'http'),
    customHeaders: hostCustomHeaders(),
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 7071,
    logger: services.logger,
  });
  const watcher = new BlobWatcher(
    services.blobs,
    all.filter((r): r is BlobCreatedRegistration => r.kind === 'blob-created'),
    services.logger,
    options.blobScanIntervalMs,
  );
  if (options.watchBlobs !== false) await watcher.start();
  const timers = new TimerRunner(
    all.filter((r): r is TimerRegistration => r.kind === 'timer'),
    services.logger,
  );
  if (options.runTimers !== false) timers.start();
  return {
    url: http.url,
    services,
    watcher,
    async stop() {
      await timers.stop();
      await watcher.stop();
      await http.close();
      useServices(undefined);
      await services.close();
    },
  };
}
