// `npm run package` as an operator runs it before `azd deploy`: the staged folder must hold what
// the Function App runs and nothing of the development toolchain, and the app must load from it
// with its production dependencies alone. Slow (a compile and an `npm ci` with better-sqlite3's
// native build, a minute or two) but not skipped anywhere: CI runs it with the rest.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrations } from '../../functions/index.js';
import { minimalEnv } from '../support/child-env.js';

const ROOT = join(import.meta.dirname, '../..');
// Outside the repository: Node looks for a package in every ancestor's node_modules, so a package
// staged under the repository would find the development dependencies and prove nothing.
const parent = mkdtempSync(join(tmpdir(), 'lintel-package-'));
const out = join(parent, 'package');
afterAll(() => rmSync(parent, { recursive: true, force: true }));

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync('git', ['-c', 'user.name=lintel test', '-c', 'user.email=test@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`git ${args[0] ?? ''} failed: ${result.stderr}`);
  return result.stdout;
}

/**
 * The operator's checkout: a clone whose HEAD is this working tree as it is (its uncommitted
 * changes committed there, so that what is tested is what is here), then edits nobody committed
 * — to the code, to host.json, a draft agreement — which must not reach the package.
 */
const checkout = join(parent, 'checkout');
function operatorCheckout(): void {
  git(parent, 'clone', '-q', ROOT, checkout);
  const changed = git(ROOT, 'ls-files', '-z', '--modified', '--others', '--deleted', '--exclude-standard');
  for (const path of new Set(changed.split('\0').filter(Boolean))) {
    if (existsSync(join(ROOT, path))) cpSync(join(ROOT, path), join(checkout, path));
    else rmSync(join(checkout, path), { force: true });
  }
  git(checkout, 'add', '-A');
  git(checkout, 'commit', '-q', '--allow-empty', '-m', 'the working tree under test');
  // The script compiles with the repository's TypeScript and runs under its tsx.
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'));
  writeFileSync(
    join(checkout, 'shared/config.ts'),
    `${readFileSync(join(checkout, 'shared/config.ts'), 'utf8')}\nexport const UNREVIEWED_EDIT = 'never committed';\n`,
  );
  writeFileSync(
    join(checkout, 'host.json'),
    JSON.stringify({ ...(JSON.parse(readFileSync(join(checkout, 'host.json'), 'utf8')) as object), unreviewed: true }),
  );
  writeFileSync(join(checkout, 'agreements/draft-not-signed-off.yaml'), 'id: draft\n');
}

const packageRun = (...options: string[]): ReturnType<typeof spawnSync> =>
  spawnSync(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(checkout, 'scripts/package.ts'), '--out', out, ...options],
    {
      cwd: checkout,
      // An operator whose npm config includes development dependencies (an `include=dev` in an
      // .npmrc, or this) must still stage the production dependencies alone.
      env: minimalEnv({ HOME: process.env.HOME ?? tmpdir(), NPM_CONFIG_INCLUDE: 'dev' }),
      encoding: 'utf8',
      timeout: 540_000,
    },
  );

let refused: ReturnType<typeof spawnSync>;
let staged: ReturnType<typeof spawnSync>;
beforeAll(() => {
  operatorCheckout();
  // Told only that the draft agreement may be left out: the uncommitted code is still refused.
  refused = packageRun('--leave-out-uncommitted-agreements');
  // A developer adding an agreement, or changing the code, runs `npm test` before committing it
  // (agreements/README.md, "Adding a new agreement"): staged as HEAD has them all the same, with a
  // warning, rather than refused (the refusal of agreements: package-steps.test.ts).
  staged = packageRun('--leave-out-uncommitted-agreements', '--leave-out-uncommitted-code');
}, 600_000);

const headOf = (path: string): string =>
  spawnSync('git', ['show', `HEAD:./${path}`], { cwd: checkout, encoding: 'utf8' }).stdout;

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
    cwd: checkout,
    encoding: 'utf8',
  }).stdout;
  return listed.trim().split('\n');
}

describe('npm run package', () => {
  it('stages the package with no ancestor node_modules to lean on', () => {
    expect(staged.stderr).not.toMatch(/^package: (?!staging (?:agreements\/|the code) as committed at HEAD;)/m);
    expect(staged.status).toBe(0);
    for (let dir = parent; dir !== dirname(dir); dir = dirname(dir)) {
      expect(existsSync(join(dir, 'node_modules')), `${dir}/node_modules`).toBe(false);
    }
  });

  // Before, only the agreements were taken from HEAD: the compiled code, host.json, package.json
  // and the lockfile came from the working tree, so an uncommitted edit to shared/ was deployed,
  // reviewed by nobody, from a package nothing tied to a commit.
  it('refuses a checkout whose code differs from HEAD, naming the files and how to go on, staging nothing', () => {
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('shared/config.ts (modified)');
    expect(refused.stderr).toContain('host.json (modified)');
    expect(refused.stderr).toContain('--leave-out-uncommitted-code');
    expect(refused.stderr).not.toContain('draft-not-signed-off');
    expect(refused.stdout).toBe('');
  });

  it('compiles the code and copies host.json, package.json and the lockfile as committed at HEAD, never an uncommitted edit', () => {
    expect(staged.stderr).toMatch(
      /^package: staging the code as committed at HEAD; left as HEAD has them: .*shared\/config\.ts/m,
    );
    const compiled = readFileSync(join(out, 'dist/shared/config.js'), 'utf8');
    expect(compiled).toContain('export function loadConfig');
    expect(compiled).not.toContain('UNREVIEWED_EDIT');
    for (const name of ['host.json', 'package.json', 'package-lock.json'])
      expect(readFileSync(join(out, name), 'utf8'), name).toBe(headOf(name));
    expect(existsSync(join(out, 'agreements/draft-not-signed-off.yaml'))).toBe(false);
  });

  it('records the commit it was built from, and what of the working tree it left out', () => {
    const build = JSON.parse(readFileSync(join(out, 'lintel-build.json'), 'utf8')) as {
      commit: string;
      uncommittedLeftOut: string[];
    };
    expect(build.commit).toBe(git(checkout, 'rev-parse', 'HEAD').trim());
    expect(build.uncommittedLeftOut).toEqual([
      'agreements/draft-not-signed-off.yaml (untracked)',
      'host.json (modified)',
      'shared/config.ts (modified)',
    ]);
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
        'lintel-build.json',
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
      expect(readFileSync(join(out, 'agreements', name), 'utf8'), name).toBe(headOf(`agreements/${name}`));
    }
    const sources = readdirSync(join(out, 'dist'), { recursive: true, encoding: 'utf8' }).filter((f) =>
      /(?<!\.d)\.ts$/.test(f),
    );
    expect(sources).toEqual([]);
  });

  // Before, prebuild-install (what better-sqlite3's install script runs to fetch its binary) was
  // shipped, with tar-fs, simple-get, node-abi, rc and the rest only it needs: nothing loads them.
  it('ships no install-time tool: no prebuild-install, nor what only it needs, and no .bin link to nothing', () => {
    const installed = readdirSync(join(out, 'node_modules'));
    for (const name of [
      'prebuild-install',
      'tar-fs',
      'simple-get',
      'node-abi',
      'rc',
      'napi-build-utils',
      'tunnel-agent',
    ])
      expect(installed, name).not.toContain(name);
    expect(installed).toEqual(expect.arrayContaining(['better-sqlite3', 'bindings', 'file-uri-to-path']));
    const bin = join(out, 'node_modules/.bin');
    const dangling = (existsSync(bin) ? readdirSync(bin) : []).filter((name) => !existsSync(join(bin, name)));
    expect(dangling).toEqual([]);
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

  // Before, `npm ci` compiled SQLite from source again (minutes; the prebuilt binaries are on
  // GitHub, unreachable here) though the checkout holds the same version built for this Node.
  it("takes better-sqlite3's binary from the checkout's own build of the same version, not compiling it again", () => {
    expect(staged.stdout).toContain("package: better-sqlite3's binary is the checkout's own build");
    const binary = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
    expect(readFileSync(join(out, binary)).equals(readFileSync(join(ROOT, binary)))).toBe(true);
  });

  it('loads the entry point with production dependencies alone and registers every function, agreements and SQLite working', () => {
    const loaded = spawnSync(process.execPath, ['--input-type=module', '-e', LOAD_APP], {
      cwd: out,
      env: minimalEnv(),
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
      env: minimalEnv(),
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
