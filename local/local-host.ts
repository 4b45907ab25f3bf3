import type { BlobRegistration, HttpRegistration } from '../functions/registry.js';
import type { Settings } from '../shared/config.js';
import { createServices, useServices, type Services } from '../shared/services.js';
import { BlobWatcher } from './blob-watcher.js';
import { startHttpServer } from './http-server.js';

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
}

/**
 * The product on one machine: the registered handlers served over HTTP and fired on blob
 * arrival, with services built from the given settings. Azurite is started by the caller.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { registrations } = await import('../functions/index.js');
  const services = await createServices(options.settings);
  useServices(Promise.resolve(services));
  const all = registrations();
  const http = await startHttpServer({
    registrations: all.filter((r): r is HttpRegistration => r.kind === 'http'),
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 7071,
    logger: services.logger,
  });
  const watcher = new BlobWatcher(
    services.blobs,
    all.filter((r): r is BlobRegistration => r.kind === 'blob'),
    services.logger,
    options.blobScanIntervalMs,
  );
  await watcher.start();
  return {
    url: http.url,
    services,
    watcher,
    async stop() {
      await watcher.stop();
      await http.close();
      useServices(undefined);
      await services.close();
    },
  };
}
