import { mkdirSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigurationError } from './config.js';
import { errorCodeOf, errorKind } from './logging.js';

/**
 * A folder {@link makeFolder} cannot make. `file` is the file that stands where a folder must
 * be (the folder asked for itself, as given, or one above it); otherwise `code` is what the
 * kernel answered. The message names the paths alone: they are configured or typed paths.
 */
export class FolderError extends Error {
  constructor(
    readonly folder: string,
    readonly file: string | undefined,
    readonly code?: string,
  ) {
    super(
      file === undefined
        ? `cannot make the folder ${folder} (${code})`
        : file === folder
          ? `${folder} is a file, not a folder`
          : `cannot make the folder ${folder}: ${file} is a file`,
    );
    this.name = 'FolderError';
  }
}

/**
 * Makes `folder` and each of its parents not there yet, in turn from the one nearest the root;
 * a folder already there is fine. Not Node's `mkdirSync(…, { recursive: true })`: where the
 * kernel answers ENOENT under a folder that is there (`/proc/nope`) it spins for ever at full
 * CPU, never returning (`SQLITE_PATH=/proc/x/db` hung `npm start` without a word), and over a
 * file it throws its bare `EEXIST: file already exists`. Throws a {@link FolderError} for a
 * path that is, or lies under, a file, or a folder that cannot be made.
 */
export function makeFolder(folder: string): void {
  const missing: string[] = [];
  let at = resolve(folder);
  for (;;) {
    let stats: Stats | undefined;
    try {
      stats = statSync(at, { throwIfNoEntry: false });
    } catch (err) {
      // A path under a file: ENOTDIR, the file itself found further up.
      if (errorCodeOf(err) !== 'ENOTDIR') throw err;
    }
    if (stats?.isDirectory() === true) break;
    if (stats !== undefined) throw new FolderError(folder, at === resolve(folder) ? folder : at);
    // No root to make: said as the kernel would of any folder it cannot make.
    if (dirname(at) === at) throw new FolderError(folder, undefined, 'ENOENT');
    missing.unshift(at);
    at = dirname(at);
  }
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (err) {
      // Made meanwhile by another process: it is there all the same.
      if (errorCodeOf(err) === 'EEXIST' && statSync(path).isDirectory()) continue;
      throw new FolderError(folder, undefined, String(errorCodeOf(err) ?? errorKind(err)));
    }
  }
}

/**
 * Makes the folder `folder` that setting `setting` names; one that cannot be made is that
 * setting's fault, refused as a {@link ConfigurationError} naming it, as loadConfig refuses the
 * others, so `npm start` and the scripts say which setting to fix.
 */
export function makeSettingFolder(setting: string, folder: string): void {
  try {
    makeFolder(folder);
  } catch (err) {
    if (err instanceof FolderError) throw new ConfigurationError([`${setting}: ${err.message}`]);
    throw err;
  }
}
