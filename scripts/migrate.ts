/**
 * `npm run migrate` — apply the configured store's pending schema migrations, then list every
 * migration with when it was applied. Settings as the host reads them (local settings by
 * default; app settings in a release pipeline).
 *
 * The host applies pending migrations at start-up as well (createServices). Run this on its own
 * in a release, before new code takes traffic: a migration that fails then stops the release
 * instead of the first instance to start, and no request waits behind one. Takes no options:
 * exit status 0 migrated, 1 failed, 2 an option given.
 */
import { loadLocalSettings } from '../local/settings.js';
import { loadConfig } from '../shared/config.js';
import type { Store } from '../shared/store/database.js';
import { makeStoreFolder, storeOptionsOf } from '../shared/store/store-options.js';
import { failureLine, parseOptions } from './cli.js';

parseOptions('migrate', "npm run migrate   (applies the store's pending migrations, then lists them all)", {
  options: {},
});
let store: Store | undefined;
try {
  loadLocalSettings();
  const settings = loadConfig(process.env);
  // A folder that cannot be made is SQLITE_PATH's fault, named as npm start names it.
  makeStoreFolder(settings);
  // The store's graph (kysely, both drivers, every migration) is loaded only once the command
  // line and the settings are read: --help, a mistyped option or a SQLITE_PATH that can be no
  // store is answered without it (tsx took some 1 s to load it), as the other scripts answer them.
  const { migrateToLatest, migrationState, openStore } = await import('../shared/store/database.js');
  store = openStore(storeOptionsOf(settings));
  const applied = await migrateToLatest(store);
  const state = await migrationState(store);
  for (const m of state) {
    process.stdout.write(`${m.name}  ${m.appliedAt ? `applied ${m.appliedAt.toISOString()}` : 'pending'}\n`);
  }
  process.stdout.write(
    applied.length > 0
      ? `${settings.STORE_ENGINE}: applied ${applied.length} migration(s); schema at ${state.at(-1)?.name ?? 'none'}\n`
      : `${settings.STORE_ENGINE}: schema up to date at ${state.at(-1)?.name ?? 'none'}\n`,
  );
} catch (err) {
  // As every operator script answers: a malformed setting by name, no credential as how to sign
  // in, which migration failed with the database's reason; anything else by its kind alone, as
  // the driver's message may quote the server or the connection string.
  process.stderr.write(failureLine('migrate', err));
  process.exitCode = 1;
} finally {
  await store?.close();
}
