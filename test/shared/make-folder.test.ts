import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderError, makeFolder } from '../../shared/make-folder.js';

const scratch = () => mkdtempSync(join(tmpdir(), 'lintel-make-folder-'));

/** What makeFolder threw for `folder`, or undefined where it made it. */
function refusal(folder: string): FolderError | undefined {
  try {
    makeFolder(folder);
    return undefined;
  } catch (err) {
    if (err instanceof FolderError) return err;
    throw err;
  }
}

describe('making a folder from a setting or a default', () => {
  it('makes a new folder and each of its missing parents', () => {
    const folder = join(scratch(), 'store', 'sqlite', 'lintel');
    makeFolder(folder);
    expect(statSync(folder).isDirectory()).toBe(true);
  });

  it('leaves a folder already there as it is, and what it holds', () => {
    const folder = scratch();
    writeFileSync(join(folder, 'lintel.db'), 'kept');
    makeFolder(folder);
    expect(statSync(join(folder, 'lintel.db')).isFile()).toBe(true);
  });

  it('refuses a path that is a file, naming it, and leaves the file', () => {
    const file = join(scratch(), 'lintel.db');
    writeFileSync(file, 'kept');
    expect(refusal(file)?.message).toBe(`${file} is a file, not a folder`);
    expect(statSync(file).isFile()).toBe(true);
  });

  it('refuses a path under a file, naming the folder and the file in its way', () => {
    const file = join(scratch(), 'settings');
    writeFileSync(file, 'kept');
    const folder = join(file, 'sqlite', 'lintel');
    expect(refusal(folder)?.message).toBe(`cannot make the folder ${folder}: ${file} is a file`);
    expect(existsSync(join(file, 'sqlite'))).toBe(false);
  });

  // Node's recursive mkdir never returns here: the kernel answers ENOENT under /proc, which is there.
  it('refuses a folder the kernel will not make (/proc/nope), naming it, rather than spinning', () => {
    expect(refusal('/proc/nope/lintel')?.message).toBe('cannot make the folder /proc/nope/lintel (ENOENT)');
    expect(existsSync('/proc/nope')).toBe(false);
  });
});
