// `npm run migrate` as a release pipeline runs it: a process of its own, settings from the
// environment over the example local settings, against a SQLite store on disk.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port.js';
import { minimalEnv } from '../support/child-env.js';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'lintel-migrate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function migrate(sqlitePath: string, env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'scripts/migrate.ts')], {
    cwd: ROOT,
    env: minimalEnv({ SQLITE_PATH: sqlitePath, STORE_ENGINE: 'sqlite', ...env }),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('npm run migrate', () => {
  const store = join(dir, 'lintel.db');

  it('applies every migration to a new store and lists each with when it was applied', () => {
    const result = migrate(store);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const listed = result.stdout.split('\n').filter((l) => /^\d{4}-/.test(l));
    expect(listed.length).toBeGreaterThan(5);
    for (const line of listed) expect(line).toMatch(/ {2}applied \d{4}-\d\d-\d\dT/);
    expect(result.stdout).toContain(`sqlite: applied ${listed.length} migration(s)`);
    const db = new SqliteDatabase(store, { readonly: true });
    try {
      const tables = db.prepare("select name from sqlite_master where type = 'table'").pluck().all();
      expect(tables).toEqual(expect.arrayContaining(['source_record', 'record_identifier', 'consent_event']));
    } finally {
      db.close();
    }
  });

  it('changes nothing the second time and says the schema is up to date', () => {
    const result = migrate(store);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/sqlite: schema up to date at \d{4}-/);
    expect(result.stdout).not.toContain('pending');
  });

  // A store whose folder could not be made was named by its folder alone ("migrate: cannot make
  // the folder /proc/nope (ENOENT)"): the operator was not told which setting to fix.
  it.each([
    ['/proc/nope/lintel.db', 'cannot make the folder /proc/nope (ENOENT)'],
    ['FILE/lintel.db', 'FILE is a file, not a folder'],
  ])('names SQLITE_PATH when the folder of a store at %s cannot be made, and exits 1', (path, problem) => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'a file\n');
    const result = migrate(path.replace('FILE', file));
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: '' });
    expect(result.stderr).toBe(`migrate: Invalid configuration:\n  - SQLITE_PATH: ${problem.replace('FILE', file)}\n`);
  });

  // A store path that is a folder was "migrate: failed (SqliteError:SQLITE_CANTOPEN)".
  it('names SQLITE_PATH when it is a folder, and exits 1', () => {
    const folder = join(dir, 'a-folder');
    mkdirSync(folder, { recursive: true });
    const result = migrate(folder);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: '' });
    expect(result.stderr).toBe(`migrate: Invalid configuration:\n  - SQLITE_PATH: ${folder} is a folder, not a file\n`);
  });

  // A file that is no SQLite database was "migrate: failed (SqliteError:SQLITE_NOTADB)".
  it('names SQLITE_PATH when it is a file that is no SQLite database, and exits 1', () => {
    const notes = join(dir, 'notes.txt');
    writeFileSync(notes, 'the housing register, to be loaded on Monday\n');
    const result = migrate(notes);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: '' });
    expect(result.stderr).toBe(`migrate: Invalid configuration:\n  - SQLITE_PATH: ${notes} is not a SQLite database\n`);
  });

  // One that cannot be read was the bare error of the header check: "migrate: failed (Error:ELOOP)"
  // for a link to itself, "ENAMETOOLONG" for a name longer than the file system takes, naming no
  // setting. (Unreadable modes are no test here: root, as the tests may run, reads any file.)
  it.each([
    ['a link to itself', 'ELOOP', () => join(dir, 'loop.db')],
    ['a name too long', 'ENAMETOOLONG', () => join(dir, `${'n'.repeat(300)}.db`)],
  ])('names SQLITE_PATH when it is %s, and exits 1', (_name, code, pathOf) => {
    const path = pathOf();
    if (code === 'ELOOP') symlinkSync(path, path);
    const result = migrate(path);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: '' });
    expect(result.stderr).toBe(`migrate: Invalid configuration:\n  - SQLITE_PATH: ${path} cannot be read (${code})\n`);
  });

  it("names the migration that failed and the database's reason, and exits 1", () => {
    const clashing = join(dir, 'clashing.db');
    const db = new SqliteDatabase(clashing);
    db.exec('create table source_record (id text)');
    db.close();
    const result = migrate(clashing);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^migrate: Migration 0003-records failed: .*already exists/);
    expect(result.stderr).not.toContain('    at ');
  });

  it('exits non-zero with a message when the store cannot be opened', () => {
    const notADirectory = join(dir, 'a-file');
    writeFileSync(notADirectory, '');
    const result = migrate(join(notADirectory, 'lintel.db'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^migrate: /);
    expect(result.stderr).not.toContain('    at ');
  });

  it("answers an Azure SQL it cannot reach as the other operator scripts do, quoting none of the driver's messages", async () => {
    // Nothing listens on the port: the driver's message names the server, and in other failures
    // the connection string or every credential it tried.
    const port = await freePort();
    const result = migrate(join(dir, 'unused.db'), {
      STORE_ENGINE: 'mssql',
      // Connect Timeout bounds the pool's retries of the refused connection (30 s without it).
      MSSQL_CONNECTION_STRING: `Server=tcp:127.0.0.1,${port};Database=lintel;User Id=operator;Password=not-a-real-pw-SECRET;Connect Timeout=2`,
      LOG_LEVEL: 'error',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^migrate: failed \([A-Za-z]+(?::[A-Za-z]+)?\)\n$/);
    for (const quoted of [String(port), '127.0.0.1', 'SECRET', 'Migration unknown'])
      expect(result.stderr).not.toContain(quoted);
  }, 60_000);
});
