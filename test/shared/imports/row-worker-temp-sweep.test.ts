import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepStaleTempDirs } from '../../../shared/imports/row-worker-client.js';

describe('row workers temporary directories left by a killed process', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('removes the stale ones, with the worksheet copies in them, and leaves recent ones and anything else', async () => {
    root = mkdtempSync(join(tmpdir(), 'lintel-sweep-test-'));
    const make = (name: string, ageHours: number) => {
      const dir = join(root, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'tmp-sheet.xml'), '<row><c><v>9434765919</v></c></row>');
      const when = new Date(Date.now() - ageHours * 3600_000);
      utimesSync(dir, when, when);
      return dir;
    };
    const stale = make('lintel-row-worker-0b1c', 24);
    const recent = make('lintel-row-worker-9f8e', 0.1);
    const other = make('someone-else', 48);
    expect(await sweepStaleTempDirs(root)).toBe(1);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(existsSync(other)).toBe(true);
  });
});
