import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigurationError, type Settings } from '../config.js';
import { makeSettingFolder } from '../make-folder.js';
import type { StoreOptions } from './database.js';

/**
 * The store the settings name; a relative SQLite path is taken from the working directory.
 * Apart from services.ts, so a script can learn where the store is (and that there is none)
 * without loading the host's modules and the store's: npm run token, for a party the files do not name.
 */
export function storeOptionsOf(settings: Settings): StoreOptions {
  return settings.STORE_ENGINE === 'sqlite'
    ? { engine: 'sqlite', path: settings.SQLITE_PATH === ':memory:' ? ':memory:' : resolve(settings.SQLITE_PATH) }
    : { engine: 'mssql', connectionString: settings.MSSQL_CONNECTION_STRING! };
}

/**
 * Makes the folder of the SQLite store the settings name (none for Azure SQL or a store in
 * memory), before anything that needs undoing starts: one that cannot be made (under a file, or
 * under /proc) is refused as a ConfigurationError naming SQLITE_PATH (makeSettingFolder).
 */
export function makeStoreFolder(settings: Settings): void {
  const options = storeOptionsOf(settings);
  if (options.engine !== 'sqlite' || options.path === ':memory:') return;
  makeSettingFolder('SQLITE_PATH', dirname(options.path));
  refuseFolderAsStore(options.path);
}

/**
 * Refuses a SQLite store path that is a folder, naming SQLITE_PATH: opened, it was SQLite's
 * SQLITE_CANTOPEN, which `npm start`, `npm run migrate` and `npm run token` each reported by its
 * error type alone, naming no setting.
 */
export function refuseFolderAsStore(path: string): void {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory() === true)
    throw new ConfigurationError([`SQLITE_PATH: ${path} is a folder, not a file`]);
}
