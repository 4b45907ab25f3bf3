// The steps of `npm run package` that decide what reaches production, each on a small fixture
// rather than a staged package (test/scripts/package.test.ts stages one, and takes minutes).
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readDeployedBuild } from '../../shared/build-record.js';
import {
  BUILD_RECORD,
  buildRecordText,
  checkoutNativePrebuild,
  installProductionDependencies,
  pruneInstallOnlyDependencies,
  pruneNativeBuild,
  stageCommittedAgreements,
  uncommittedAgreements,
  uncommittedCode,
} from '../../scripts/package-steps.js';
import { minimalEnv } from '../support/child-env.js';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'lintel-package-steps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function git(cwd: string, ...args: string[]): void {
  const result = spawnSync(
    'git',
    ['-c', 'user.name=lintel test', '-c', 'user.email=test@example.invalid', '-c', 'init.defaultBranch=main', ...args],
    { cwd, encoding: 'utf8' },
  );
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

/** A checkout whose HEAD holds two signed-off agreements and the folder's README. */
function checkout(name: string): string {
  const root = join(dir, name);
  mkdirSync(root);
  git(root, 'init', '-q');
  write(root, 'agreements/signed.yaml', 'id: signed\n');
  write(root, 'agreements/other.yaml', 'id: other\n');
  write(root, 'agreements/README.md', 'how agreements are signed off\n');
  write(root, 'package.json', '{}\n');
  git(root, 'add', '.');
  git(root, 'commit', '-q', '-m', 'signed off');
  return root;
}

describe('the agreements npm run package stages', () => {
  // Before, the package copied agreements/ from the working tree: a draft agreement lying in the
  // operator's checkout, never signed off, was deployed and enforced in production.
  it('names every agreement file the working tree holds otherwise than HEAD, and no other file', () => {
    const root = checkout('drafts');
    write(root, 'agreements/draft.yaml', 'id: draft\n');
    write(root, 'agreements/signed.yaml', 'id: signed\nedited: not yet signed off\n');
    unlinkSync(join(root, 'agreements/other.yaml'));
    write(root, 'agreements/staged.json', '{"id":"staged"}\n');
    git(root, 'add', 'agreements/staged.json');
    // Neither is read by the loader: a README and a subfolder's file.
    write(root, 'agreements/README.md', 'edited\n');
    write(root, 'agreements/drafts/later.yaml', 'id: later\n');
    write(root, 'notes.yaml', 'outside agreements/\n');
    expect(uncommittedAgreements(root)).toEqual([
      'agreements/draft.yaml (untracked)',
      'agreements/other.yaml (deleted)',
      'agreements/signed.yaml (modified)',
      'agreements/staged.json (added, not committed)',
    ]);
  });

  it('names nothing for a working tree holding the agreements as committed', () => {
    const root = checkout('clean');
    write(root, 'agreements/drafts/later.yaml', 'id: later\n');
    expect(uncommittedAgreements(root)).toEqual([]);
  });

  it('stages the agreements as committed at HEAD, whatever the working tree holds', () => {
    const root = checkout('staged-from-head');
    write(root, 'agreements/draft.yaml', 'id: draft\n');
    write(root, 'agreements/signed.yaml', 'id: signed\nedited: not yet signed off\n');
    unlinkSync(join(root, 'agreements/other.yaml'));
    const out = join(dir, 'staged-from-head-package');
    stageCommittedAgreements(root, out);
    expect(readdirSync(join(out, 'agreements')).sort()).toEqual(['README.md', 'other.yaml', 'signed.yaml']);
    expect(readFileSync(join(out, 'agreements/signed.yaml'), 'utf8')).toBe('id: signed\n');
    expect(readFileSync(join(out, 'agreements/other.yaml'), 'utf8')).toBe('id: other\n');
  });

  it('says a folder that is not a git checkout is one, rather than staging what it holds', () => {
    const root = join(dir, 'not-a-checkout');
    write(root, 'agreements/signed.yaml', 'id: signed\n');
    expect(() => uncommittedAgreements(root)).toThrow(`${root} is not a git checkout`);
    expect(() => stageCommittedAgreements(root, join(dir, 'not-a-checkout-package'))).toThrow(
      `${root} is not a git checkout`,
    );
  });
});

describe('the lockfile npm run package compares with HEAD', () => {
  function npm(root: string, ...args: string[]): void {
    const result = spawnSync('npm', [...args, '--offline', '--no-audit', '--no-fund', '--no-update-notifier'], {
      cwd: root,
      env: minimalEnv({ HOME: root }),
      encoding: 'utf8',
    });
    expect(result.status, result.stderr).toBe(0);
  }

  /** A checkout whose HEAD holds a lockfile written as another npm writes it: 4-space indents, no `requires`. */
  function checkoutWithLockfile(name: string): string {
    const root = join(dir, name);
    for (const version of ['1.0.0', '1.0.1']) {
      write(root, `prodlib/package.json`, JSON.stringify({ name: 'prodlib', version }));
      npm(join(root, 'prodlib'), 'pack', '--silent', '--pack-destination', root);
    }
    rmSync(join(root, 'prodlib'), { recursive: true });
    write(
      root,
      'package.json',
      `${JSON.stringify({ name: 'fixture', version: '1.0.0', private: true, dependencies: { prodlib: 'file:./prodlib-1.0.0.tgz' } }, null, 2)}\n`,
    );
    npm(root, 'install', '--package-lock-only');
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Record<string, unknown>;
    delete lock.requires;
    write(root, 'package-lock.json', `${JSON.stringify(lock, null, 4)}\n`);
    git(root, 'init', '-q');
    git(root, 'add', 'package.json', 'package-lock.json');
    git(root, 'commit', '-q', '-m', 'reviewed');
    return root;
  }

  // Before, azd's restore (`npm install` in the repository, run before the prepackage hook) with an
  // npm other than the one that wrote the lockfile rewrote it, and `npm run package` refused the
  // tree as differing from HEAD: `azd deploy` stopped, though HEAD's lockfile is what is installed.
  it('lets a lockfile pass that npm install rewrote without resolving any package otherwise', () => {
    const root = checkoutWithLockfile('lockfile-rewritten');
    const committed = readFileSync(join(root, 'package-lock.json'), 'utf8');
    npm(root, 'install', '--prefer-offline');
    expect(readFileSync(join(root, 'package-lock.json'), 'utf8')).not.toBe(committed);
    expect(uncommittedCode(root)).toEqual([]);
    git(root, 'add', 'package-lock.json');
    expect(uncommittedCode(root)).toEqual([]);
  });

  it('still refuses a lockfile that resolves a package to another version than HEAD', () => {
    const root = checkoutWithLockfile('lockfile-resolved-otherwise');
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { version?: string; resolved?: string; integrity?: string }>;
    };
    // As `npm install` writes it once the dependency resolves to the newer tarball (the range allowing it).
    const prodlib = lock.packages['node_modules/prodlib'];
    lock.packages['node_modules/prodlib'] = {
      ...prodlib,
      version: '1.0.1',
      resolved: prodlib?.resolved?.replace('1.0.0', '1.0.1'),
    };
    write(root, 'package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
    expect(uncommittedCode(root)).toEqual(['package-lock.json (modified)']);
  });
});

describe('the dependencies npm run package installs', () => {
  /** A project with one production and one development dependency, both local tarballs (no registry). */
  let projects = 0;
  function project(): string {
    projects += 1;
    const root = join(dir, `project-${String(projects)}`);
    const npm = (cwd: string, ...args: string[]): void => {
      const result = spawnSync('npm', [...args, '--offline', '--no-audit', '--no-fund', '--no-update-notifier'], {
        cwd,
        env: minimalEnv({ HOME: root }),
        encoding: 'utf8',
      });
      expect(result.status, result.stderr).toBe(0);
    };
    for (const name of ['prodlib', 'devtool']) {
      write(root, `${name}/package.json`, JSON.stringify({ name, version: '1.0.0' }));
      npm(join(root, name), 'pack', '--silent', '--pack-destination', root);
    }
    write(
      root,
      'package.json',
      JSON.stringify({
        name: 'fixture',
        version: '1.0.0',
        private: true,
        dependencies: { prodlib: 'file:./prodlib-1.0.0.tgz' },
        devDependencies: { devtool: 'file:./devtool-1.0.0.tgz' },
      }),
    );
    npm(root, 'install', '--package-lock-only');
    return root;
  }

  /** The environment of an operator whose npm config, in `.npmrc` or its environment, says `config`. */
  function operator(root: string, npmrc: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
    write(root, 'home/.npmrc', npmrc);
    return minimalEnv({ HOME: join(root, 'home'), npm_config_update_notifier: 'false', ...env });
  }

  // Before, `npm ci --omit=dev` ran with the operator's npm config, where an `include=dev` (in an
  // .npmrc or NPM_CONFIG_INCLUDE) outranks `--omit`: every development tool was shipped.
  it.each([
    ['include=dev in the user .npmrc', 'include=dev\n', {}],
    ['NPM_CONFIG_INCLUDE=dev', '', { NPM_CONFIG_INCLUDE: 'dev' }],
    ['npm_config_include=dev', '', { npm_config_include: 'dev' }],
  ])('installs no development dependency for an operator with %s', (_, npmrc, env) => {
    const root = project();
    installProductionDependencies(root, operator(root, npmrc, env));
    expect(existsSync(join(root, 'node_modules/prodlib/package.json'))).toBe(true);
    expect(existsSync(join(root, 'node_modules/devtool'))).toBe(false);
  });

  it.each([['dev=true\n'], ['also=dev\n'], ['production=false\n']])(
    'refuses the build, naming what was installed, for an operator whose .npmrc has the deprecated %s',
    (npmrc) => {
      const root = project();
      expect(() => installProductionDependencies(root, operator(root, npmrc))).toThrow(
        /npm installed 1 development-only packages \(devtool\) despite --omit=dev/,
      );
    },
  );
});

describe('the better-sqlite3 npm run package ships', () => {
  // Before, the package carried about 27 MB of better-sqlite3's build intermediates and sources
  // (build/Release/obj*, sqlite3.a, test_extension.node, deps/, src/) that nothing loads.
  it('keeps its JS, package.json and the one binary, and still opens a database', () => {
    const nodeModules = join(dir, 'pruned/node_modules');
    for (const name of ['better-sqlite3', 'bindings', 'file-uri-to-path'])
      cpSync(join(ROOT, 'node_modules', name), join(nodeModules, name), { recursive: true });
    const root = join(nodeModules, 'better-sqlite3');
    pruneNativeBuild(nodeModules);
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
      statSync(join(root, f)).isFile(),
    );
    expect(files.filter((f) => !/^(?:lib\/|package\.json$|LICENSE$|README\.md$)/.test(f))).toEqual([
      'build/Release/better_sqlite3.node',
    ]);
    const Database = createRequire(join(nodeModules, 'package.json'))('better-sqlite3') as new (path: string) => {
      prepare: (sql: string) => { get: () => { answer: number } };
      close: () => void;
    };
    const db = new Database(':memory:');
    expect(db.prepare('select 41 + 1 as answer').get().answer).toBe(42);
    db.close();
  });

  it('refuses a package whose better-sqlite3 has no binary rather than ship one that cannot open SQLite', () => {
    const nodeModules = join(dir, 'unbuilt/node_modules');
    write(nodeModules, 'better-sqlite3/package.json', '{"name":"better-sqlite3"}');
    write(nodeModules, 'better-sqlite3/lib/index.js', '');
    expect(() => pruneNativeBuild(nodeModules)).toThrow('better-sqlite3 has no build/Release/better_sqlite3.node');
  });
});

describe('the install-time packages npm run package leaves out', () => {
  // Before, prebuild-install (better-sqlite3's install-time binary fetcher) shipped, with tar-fs,
  // simple-get, node-abi, rc and the rest that only it needs: code production never loads.
  it('removes what only an install script needs, keeping what another production package needs too', () => {
    const root = join(dir, 'install-only');
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { dependencies: { 'better-sqlite3': '1', exceljs: '1' }, devDependencies: { vitest: '1' } },
        'node_modules/better-sqlite3': { dependencies: { bindings: '1', 'prebuild-install': '1' } },
        'node_modules/bindings': {},
        'node_modules/prebuild-install': { dependencies: { 'tar-fs': '1', once: '1', rc: '1' } },
        'node_modules/tar-fs': {},
        'node_modules/rc': { dependencies: { 'strip-json-comments': '2' } },
        'node_modules/rc/node_modules/strip-json-comments': {},
        'node_modules/strip-json-comments': {},
        'node_modules/exceljs': { dependencies: { once: '1', 'strip-json-comments': '3' } },
        'node_modules/once': {},
        'node_modules/vitest': { dev: true },
      },
    };
    write(root, 'package-lock.json', JSON.stringify(lock));
    for (const path of Object.keys(lock.packages).filter((p) => p !== '' && !p.endsWith('vitest')))
      write(root, `${path}/package.json`, '{}');
    mkdirSync(join(root, 'node_modules/.bin'));
    symlinkSync('../prebuild-install/package.json', join(root, 'node_modules/.bin/prebuild-install'));
    symlinkSync('../exceljs/package.json', join(root, 'node_modules/.bin/exceljs'));
    expect(pruneInstallOnlyDependencies(root)).toEqual([
      'node_modules/prebuild-install',
      'node_modules/rc',
      'node_modules/rc/node_modules/strip-json-comments',
      'node_modules/tar-fs',
    ]);
    expect(readdirSync(join(root, 'node_modules')).sort()).toEqual(
      ['.bin', 'better-sqlite3', 'bindings', 'exceljs', 'once', 'strip-json-comments'].sort(),
    );
    expect(readdirSync(join(root, 'node_modules/.bin'))).toEqual(['exceljs']);
  });
});

describe('the build record npm run package writes', () => {
  it('records the commit and when the package was built, and the app reads both back at its start', async () => {
    const root = join(dir, 'staged-build-record');
    mkdirSync(root);
    const commit = 'fedcba9876543210fedcba9876543210fedcba98';
    writeFileSync(
      join(root, BUILD_RECORD),
      buildRecordText(commit, ['host.json (modified)'], new Date('2026-11-30T09:15:00Z')),
    );
    expect(JSON.parse(readFileSync(join(root, BUILD_RECORD), 'utf8'))).toEqual({
      commit,
      builtAt: '2026-11-30T09:15:00.000Z',
      uncommittedLeftOut: ['host.json (modified)'],
    });
    expect(await readDeployedBuild(root)).toEqual({ commit, builtAt: '2026-11-30T09:15:00.000Z' });
  });
});

describe("offering the checkout's better-sqlite3 binary to npm ci", () => {
  // Where tar was missing, preparing the offer threw and the whole `npm run package` failed, when
  // the offer only spares the build npm ci does without it.
  it('offers nothing, saying npm ci will build it, where tar is not on PATH', () => {
    const nodeModules = join(ROOT, 'node_modules');
    const lockfile = join(ROOT, 'package-lock.json');
    // Control: here, with tar, the checkout's binary is offered, so the case below tests the fall-back.
    expect(checkoutNativePrebuild(nodeModules, lockfile, mkdtempSync(join(dir, 'prebuild-')))).toMatch(
      /^local-prebuilds=/,
    );
    const noTools = mkdtempSync(join(dir, 'no-tools-'));
    const written = vi.spyOn(process.stdout, 'write');
    vi.stubEnv('PATH', noTools);
    let said: string;
    try {
      expect(checkoutNativePrebuild(nodeModules, lockfile, mkdtempSync(join(dir, 'prebuild-')))).toBeUndefined();
    } finally {
      vi.unstubAllEnvs();
      said = written.mock.calls.map(([text]) => String(text)).join('');
      written.mockRestore();
    }
    expect(said).toMatch(/could not be offered \(tar failed .*\); npm ci will build it\n/);
  });
});
