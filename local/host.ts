/**
 * `npm start`: the whole product on one machine. Loads local settings like Core Tools, checks
 * them (and makes the folders they name) before anything starts, starts Azurite, then serves the
 * registered functions on 7071.
 */
import { dirname, resolve } from 'node:path';
import { ConfigurationError, loadConfig, type Settings } from '../shared/config.js';
import { makeSettingFolder } from '../shared/make-folder.js';
import { makeStoreFolder } from '../shared/store/store-options.js';
import { startAzurite, type RunningAzurite } from './azurite.js';
import { startLocalHost, type LocalHost } from './local-host.js';
import { forgetRunningAzurite, loadLocalSettings, localPort, recordRunningAzurite } from './settings.js';
import { seedDemoIfEmpty } from '../shared/synthetic/extracts/demo-seed.js';
import { healCuratedAtStart } from './heal-at-start.js';

const DEVELOPMENT_STORAGE = 'UseDevelopmentStorage=true';

async function main(): Promise<void> {
  // Read first: were the parent gone before the watch below began, it would never see it go.
  const parent = process.ppid;
  const settingsFile = loadLocalSettings();
  let settings, blobPort, hostPort;
  try {
    settings = loadConfig(process.env);
    makeSettingFolders(settings);
    blobPort = localPort(process.env, 'AZURITE_BLOB_PORT') ?? 10000;
    hostPort = localPort(process.env, 'LINTEL_HOST_PORT') ?? 7071;
  } catch (err) {
    if (err instanceof ConfigurationError) {
      process.stderr.write(`lintel: cannot start. ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  let azurite: RunningAzurite | undefined;
  let host: LocalHost | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    await host?.stop().catch(() => undefined);
    await azurite?.stop().catch(() => undefined);
    if (azurite) forgetRunningAzurite();
    process.exit(code);
  };
  // Set before Azurite starts (up to 20 s): a stop meanwhile exits, and azurite.ts stops its
  // child on exit, so it is not left on its port.
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGHUP', () => void stop(0));
  // npm runs this under `sh -c` and hands its own SIGTERM (an IDE's stop button, `kill $!` after
  // `npm start &`) to that shell, which dies without passing it on: the host and its Azurite
  // went on holding their ports, and the next `npm start` refused to start. A host whose parent
  // is gone has nobody to stop it with Ctrl-C, so it stops itself.
  setInterval(() => {
    if (process.ppid !== parent) void stop(0);
  }, 1000).unref();

  if (settings.AzureWebJobsStorage === DEVELOPMENT_STORAGE) {
    azurite = await startAzurite({ port: blobPort, location: resolve('.lintel/azurite') });
    settings = { ...settings, AzureWebJobsStorage: azurite.connectionString };
    // The scripts (seed, import, audit, relink, curate) read this port, so they reach this
    // Azurite without being given AZURITE_BLOB_PORT too (local/settings.ts).
    recordRunningAzurite(blobPort);
    log(`Azurite blob service on http://127.0.0.1:${blobPort} (pid ${azurite.pid})`);
  }

  try {
    host = await startLocalHost({ settings, port: hostPort });
  } catch (err) {
    // A setting found wrong only as it is used (SQLITE_PATH's folder) is refused as loadConfig's are.
    if (err instanceof ConfigurationError) {
      process.stderr.write(`lintel: cannot start. ${err.message}\n`);
      await stop(1);
      return;
    }
    const busy = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    const hint = busy
      ? `; stop what uses port ${hostPort}, or set LINTEL_HOST_PORT (and AUTH_JWKS_URI and AUTH_ISSUER to the new port: README, settings)`
      : '';
    process.stderr.write(`lintel: start-up failed: ${err instanceof Error ? err.message : String(err)}${hint}\n`);
    await stop(1);
    return;
  }
  log(`settings from ${settingsFile}`);
  log(`listening on ${host.url}/api (health: ${host.url}/api/health). Ctrl-C stops the host and Azurite.`);

  // What a planning export whose process died left in latest/, healed now (heal-at-start.ts).
  const healLine = await healCuratedAtStart({
    ...host.services,
    minCell: host.services.settings.CURATED_MIN_CELL,
    historyDays: host.services.settings.CURATED_HISTORY_DAYS,
  });
  if (healLine !== undefined) log(healLine);

  // Issue 4: a fresh machine gets a demo set of partner extracts, imported as they land.
  const demo = await seedDemoIfEmpty(host.services, resolve('.lintel/seed')).catch((err: unknown) => {
    log(`demo data not seeded (${err instanceof Error ? err.name : 'error'})`);
    return [];
  });
  if (demo.length > 0)
    log(`demo data: ${demo.length} synthetic extracts uploaded to incoming/ (truth in .lintel/seed/truth.csv)`);
}

/**
 * Makes the folder of each file a setting names that this host writes, before Azurite starts:
 * each was found bad only as it was first written, once Azurite was running, the secrets' and
 * the issuer key's as "start-up failed: cannot make the folder …", naming no setting. Refused now
 * as loadConfig's refusals are, naming the setting (makeSettingFolder).
 */
function makeSettingFolders(settings: Settings): void {
  makeStoreFolder(settings);
  if (settings.SECRETS_SOURCE === 'local')
    makeSettingFolder('LOCAL_SECRETS_PATH', dirname(resolve(settings.LOCAL_SECRETS_PATH)));
  // The development issuer exists only off production (local-host.ts).
  if (settings.LINTEL_ENV !== 'production')
    makeSettingFolder('DEV_ISSUER_KEY_PATH', dirname(resolve(settings.DEV_ISSUER_KEY_PATH)));
}

function log(message: string): void {
  process.stdout.write(`[lintel] ${message}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`lintel: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
