// `npm run package` as an operator runs it before `azd deploy`: the staged folder must hold what
// the Function App runs and nothing of the development toolchain, and the app must load from it
// with its production dependencies alone. Slow (a compile and an `npm ci` with better-sqlite3's
// native build, a minute or two) but not skipped anywhere: CI runs it with the rest.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrations } from '../../functions/index.js';

const ROOT = join(import.meta.dirname, '../..');
// Outside the repository: Node looks for a package in every ancestor's node_modules, so a package
// staged under the repository would find the development dependencies and prove nothing.
const parent = mkdtempSync(join(tmpdir(), 'lintel-package-'));
const out = join(parent, 'package');
afterAll(() => rmSync(parent, { recursive: true, force: true }));

let staged: ReturnType<typeof spawnSync>;
beforeAll(() => {
  staged = spawnSync(
    process.execPath,
    // A developer adding an agreement runs `npm test` before committing it (agreements/README.md,
    // "Adding a new agreement"): staged as HEAD has them all the same, with a warning, rather than
    // refused (the refusal: package-steps.test.ts).
    [
      '--import',
      import.meta.resolve('tsx'),
      join(ROOT, 'scripts/package.ts'),
      '--out',
      out,
      '--leave-out-uncommitted-agreements',
    ],
    {
      cwd: ROOT,
      // An operator whose npm config includes development dependencies (an `include=dev` in an
      // .npmrc, or this) must still stage the production dependencies alone.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), NPM_CONFIG_INCLUDE: 'dev' },
      encoding: 'utf8',
      timeout: 540_000,
    },
  );
}, 600_000);

/** Loads the app as the Functions host would (package.json `main`, cwd the package root), then the pieces it opens lazily. */
const LOAD_APP = `
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const { main } = JSON.parse(readFileSync('package.json', 'utf8'));
const entry = await import(pathToFileURL(resolve(main)).href);
const functions = entry.registrations().map((r) => r.kind + ':' + r.name);
const { loadConfig } = await import(pathToFileURL(resolve('dist/shared/config.js')).href);
const { loadAgreements } = await import(pathToFileURL(resolve('dist/shared/agreements/load.js')).href);
const agreements = loadAgreements(resolve(loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).AGREEMENTS_DIR)).all().length;
const Database = createRequire(resolve('package.json'))('better-sqlite3');
const sqlite = new Database(':memory:').prepare('select 41 + 1 as answer').get().answer;
process.stdout.write(JSON.stringify({ functions, agreements, sqlite }));
`;

/** The entry point and an Azure SQL store's client, with every native addon refused (see its test). */
const LOAD_WITHOUT_NATIVE_ADDONS = `
process.dlopen = () => { throw new Error('native addon refused'); };
const { readFileSync } = await import('node:fs');
const { resolve } = await import('node:path');
const { pathToFileURL } = await import('node:url');
const { main } = JSON.parse(readFileSync('package.json', 'utf8'));
const entry = await import(pathToFileURL(resolve(main)).href);
const { openStore } = await import(pathToFileURL(resolve('dist/shared/store/database.js')).href);
const store = openStore({ engine: 'mssql', connectionString: 'Server=tcp:127.0.0.1,1;Database=lintel;Encrypt=true' });
await store.close();
let sqlite = 'opened';
try { openStore({ engine: 'sqlite', path: ':memory:' }); } catch (err) { sqlite = err.message; }
process.stdout.write(JSON.stringify({ functions: entry.registrations().length, store: store.dialect.engine, sqlite }));
`;

/** The files of agreements/ as committed at HEAD, which the package stages. */
function committedAgreementFiles(): string[] {
  const listed = spawnSync('git', ['ls-tree', '-r', '--name-only', '--full-tree', 'HEAD:./agreements'], {
    cwd: ROOT,
    encoding: 'utf8',
  }).stdout;
  return listed.trim().split('\n');
}

describe('npm run package', () => {
  it('stages the package with no ancestor node_modules to lean on', () => {
    expect(staged.stderr).not.toMatch(/^package: (?!staging agreements\/ as committed at HEAD;)/m);
    expect(staged.status).toBe(0);
    for (let dir = parent; dir !== dirname(dir); dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules')), `${dir}/node_modules`).toBe(false);
    }
  });

  it('installs no development tool: no vitest, tsx, azurite, typescript, eslint, prettier', () => {
    const installed = readdirSync(join(out, 'node_modules'));
    for (const tool of ['vitest', 'tsx', 'azurite', 'typescript', 'eslint', 'prettier', 'autocannon', 'fast-check']) {
      expect(installed, tool).not.toContain(tool);
    }
    expect(existsSync(join(out, 'node_modules/@duckdb'))).toBe(false);
    expect(installed).toEqual(expect.arrayContaining(['better-sqlite3', 'mssql', 'swagger-ui-dist']));
  });

  it('holds the compiled app, host.json and the agreements, and no sources, tests, local host or scripts', () => {
    expect(readdirSync(join(out, 'dist')).sort()).toEqual(['functions', 'shared']);
    expect(readdirSync(out).sort()).toEqual(
      [
        '.funcignore',
        '.zipignore',
        'agreements',
        'dist',
        'host.json',
        'node_modules',
        'package-lock.json',
        'package.json',
      ].sort(),
    );
    expect(readFileSync(join(out, 'host.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'host.json'), 'utf8'));
    // The agreements as committed (signed off), not as the operator's working tree holds them.
    const committed = committedAgreementFiles();
    expect(readdirSync(join(out, 'agreements')).sort()).toEqual(committed.sort());
    for (const name of committed) {
      const atHead = spawnSync('git', ['show', `HEAD:./agreements/${name}`], { cwd: ROOT, encoding: 'utf8' }).stdout;
      expect(readFileSync(join(out, 'agreements', name), 'utf8'), name).toBe(atHead);
    }
    const sources = readdirSync(join(out, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      /(?<!\.d)\.ts$/.test(f),
    );
    expect(sources).toEqual([]);
  });

  it('carries of better-sqlite3 what it loads alone: its JS, package.json and the one binary, no build intermediates or sources', () => {
    const root = join(out, 'node_modules/better-sqlite3');
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
      statSync(join(root, f)).isFile(),
    );
    expect(files.filter((f) => !/^(?:lib\/|package\.json$|LICENSE$|README\.md$)/.test(f))).toEqual([
      'build/Release/better_sqlite3.node',
    ]);
  });

  it('loads the entry point with production dependencies alone and registers every function, agreements and SQLite working', () => {
    const loaded = spawnSync(process.execPath, ['--input-type=module', '-e', LOAD_APP], {
      cwd: out,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(loaded.stderr).toBe('');
    expect(loaded.status).toBe(0);
    const app = JSON.parse(loaded.stdout) as { functions: string[]; agreements: number; sqlite: number };
    const expected = registrations().map((r) => `${r.kind}:${r.name}`);
    expect(expected.length).toBeGreaterThan(25);
    expect(app.functions.sort()).toEqual(expected.sort());
    expect(app.agreements).toBe(committedAgreementFiles().filter((f) => /\.(ya?ml|json)$/.test(f)).length);
    expect(app.sqlite).toBe(42);
  });

  it('loads the entry point and opens an Azure SQL store with no native addon loadable, as the deployed app runs', () => {
    // better-sqlite3's binary is built for the machine that staged the package, not for the
    // platform, and only a SQLite store loads it: production is Azure SQL. Node loads every
    // native addon through process.dlopen, so with it refusing, a module that loaded one as the
    // Functions host imports the app (or as the app opens its store) fails here.
    const loaded = spawnSync(process.execPath, ['--input-type=module', '-e', LOAD_WITHOUT_NATIVE_ADDONS], {
      cwd: out,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(loaded.stderr).toBe('');
    expect(loaded.status).toBe(0);
    const app = JSON.parse(loaded.stdout) as { functions: number; store: string; sqlite: string };
    expect(app.functions).toBe(registrations().length);
    expect(app.store).toBe('mssql');
    // The refusal is in force: SQLite, which needs the addon, cannot open.
    expect(app.sqlite).toBe('native addon refused');
  });

  it('installs every package a compiled module names, worker threads and lazy imports included', () => {
    // The entry point does not load the worker threads' modules or what is resolved on first use,
    // so read every compiled module's static imports and resolutions instead. (The tsx bootstrap in
    // shared/threads/module-worker.ts is a string run only from sources, and is not read here.)
    const files = readdirSync(join(out, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.js'),
    );
    const named = new Set<string>();
    for (const file of files) {
      const code = readFileSync(join(out, 'dist', file), 'utf8');
      for (const m of code.matchAll(
        /(?:\bfrom|^import|\.resolve\()\s*'((?:node:|@[\w-]+\/)?\w[\w.-]*(?:\/[\w./-]*)?)'/gm,
      ))
        named.add(m[1] ?? '');
    }
    const packages = [...named]
      .filter((s) => !s.startsWith('node:'))
      .map((s) =>
        s
          .split('/')
          .slice(0, s.startsWith('@') ? 2 : 1)
          .join('/'),
      );
    expect(packages).toEqual(expect.arrayContaining(['kysely', 'exceljs', 'swagger-ui-dist', '@azure/functions']));
    const missing = [...new Set(packages)].filter((p) => !existsSync(join(out, 'node_modules', p, 'package.json')));
    expect(missing).toEqual([]);
  });
});
