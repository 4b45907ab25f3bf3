import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigurationError, type Settings } from '../config.js';
import { errorCodeOf } from '../logging.js';
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
 * under /proc) is refused as a ConfigurationError naming SQLITE_PATH (makeSettingFolder), as is a
 * store path that is a folder, a file other than a SQLite database or one that cannot be read
 * ({@link refuseNoStoreFile}).
 */
export function makeStoreFolder(settings: Settings): void {
  const options = storeOptionsOf(settings);
  if (options.engine !== 'sqlite' || options.path === ':memory:') return;
  makeSettingFolder('SQLITE_PATH', dirname(options.path));
  refuseNoStoreFile(options.path);
}

/**
 * Refuses a SQLite store path that is a folder, a file that is no SQLite database, or a path
 * that cannot be read, naming SQLITE_PATH: opened, the first was SQLite's SQLITE_CANTOPEN, which
 * `npm start`, `npm run migrate` and `npm run token` each reported by its error type alone, naming
 * no setting; the second its SQLITE_NOTADB, from npm start as "start-up failed: file is not a
 * database" and from the other scripts as "failed (SqliteError:SQLITE_NOTADB)"; the third the
 * check's bare error, "failed (Error:ELOOP)" (a link to itself, a name too long, a file this user
 * may not read). Told by the file's first bytes, SQLite's own header, before anything opens it: an
 * empty file is a store SQLite has yet to write.
 */
export function refuseNoStoreFile(path: string): void {
  const stats = readingStorePath(path, () => statSync(path, { throwIfNoEntry: false }));
  if (stats?.isDirectory() === true) throw new ConfigurationError([`SQLITE_PATH: ${path} is a folder, not a file`]);
  if (stats === undefined || stats.size === 0 || readingStorePath(path, () => startsWithSqliteHeader(path))) return;
  throw new ConfigurationError([`SQLITE_PATH: ${path} is not a SQLite database`]);
}

/** `read`'s answer, or a ConfigurationError naming SQLITE_PATH where the system refused the path. */
function readingStorePath<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    const code = errorCodeOf(err);
    if (code === undefined) throw err;
    throw new ConfigurationError([`SQLITE_PATH: ${path} cannot be read (${String(code)})`]);
  }
}

/** The first 16 bytes of every SQLite database file (sqlite.org/fileformat.html, "The Database Header"). */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

function startsWithSqliteHeader(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const start = Buffer.alloc(SQLITE_HEADER.length);
    return readSync(fd, start, 0, start.length, 0) === start.length && start.equals(SQLITE_HEADER);
  } finally {
    closeSync(fd);
  }
}
