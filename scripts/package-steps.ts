/**
 * The steps of `npm run package` (scripts/package.ts) that decide what reaches production, kept
 * apart from its command line so test/scripts/package-steps.test.ts can check each one without
 * staging a whole package.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AGREEMENT_FILE } from '../shared/agreements/load.js';
import { buildRecordSchema } from '../shared/build-record.js';
import { makeFolder } from '../shared/make-folder.js';

export { BUILD_RECORD } from '../shared/build-record.js';

/** The agreements folder, relative to the repository root, as it is to the package root. */
export const AGREEMENTS = 'agreements';

/** npm's lockfile, relative to the repository root as to the package root. */
export const LOCKFILE = 'package-lock.json';

/**
 * What the compiled code, and the files the app reads beside it, are made from: compiled, or copied
 * into the package as they are. `local/` and `scripts/` are compiled too, but not deployed.
 */
export const DEPLOYED_SOURCES = [
  'functions',
  'shared',
  'host.json',
  'package.json',
  LOCKFILE,
  'tsconfig.json',
  'tsconfig.build.json',
];

/**
 * The package's build record: the commit it was built from and when (both of which the app logs
 * at each start, `app.build`), and what of the working tree it left out.
 */
export function buildRecordText(commit: string, uncommittedLeftOut: readonly string[], builtAt: Date): string {
  const record = buildRecordSchema.parse({
    commit,
    builtAt: builtAt.toISOString(),
    uncommittedLeftOut: [...uncommittedLeftOut].sort(),
  });
  return `${JSON.stringify(record, null, 2)}\n`;
}

/**
 * The working tree differs from HEAD in what the package deploys, and the operator did not say to
 * build HEAD's regardless (refused, exit 2): `agreements` and `code` as {@link uncommittedAgreements}
 * and {@link uncommittedCode} name them, either possibly empty.
 */
export class UncommittedChangesError extends Error {
  constructor(
    readonly agreements: readonly string[],
    readonly code: readonly string[],
  ) {
    const said: string[] = [];
    if (agreements.length > 0)
      said.push(
        `the working tree's agreements differ from HEAD, and the package deploys the agreements as committed (signed off): ${agreements.join(', ')}. ` +
          'Commit them once signed off, or set them aside (git stash -u), or pass --leave-out-uncommitted-agreements to stage the agreements as committed at HEAD regardless',
      );
    if (code.length > 0)
      said.push(
        `the working tree's code differs from HEAD, and the package deploys the code as committed (reviewed): ${code.join(', ')}. ` +
          'Commit it once reviewed, or set it aside (git stash -u), or pass --leave-out-uncommitted-code to build the code as committed at HEAD regardless',
      );
    super(said.join('; '));
    this.name = 'UncommittedChangesError';
  }
}

function git(root: string, args: string[], env: NodeJS.ProcessEnv = process.env): Buffer {
  const result = spawnSync('git', args, { cwd: root, env, maxBuffer: 64 * 1_048_576 });
  if (result.error) {
    throw new Error(
      `git could not be run (${result.error.message}): the package is built as committed at HEAD, so it is built from a git checkout with git installed`,
    );
  }
  if (result.status !== 0) {
    const said = result.stderr.toString().split('\n')[0]?.trim() ?? '';
    if (/not a git repository/i.test(said)) {
      throw new Error(
        `${root} is not a git checkout: the package is built as committed at HEAD, so build it from a clone of the repository`,
      );
    }
    throw new Error(`git ${args[0] ?? ''} failed in ${root} (${said || `exit ${String(result.status)}`})`);
  }
  return result.stdout;
}

/** The commit HEAD names, refusing a checkout with none. */
export function headCommit(root: string): string {
  try {
    return git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).toString().trim();
  } catch (err) {
    if (err instanceof Error && err.message.includes('is not a git checkout')) throw err;
    throw new Error(`${root} has no commit yet: the package is built as committed at HEAD`);
  }
}

/**
 * The files under `pathspecs` (relative to `root`) whose working-tree state is not HEAD's, each
 * as `<path> (<how>)` relative to `root`, ignored files included only if `ignored`.
 */
function uncommittedFiles(root: string, pathspecs: readonly string[], ignored: boolean): string[] {
  const inRepository = git(root, ['rev-parse', '--show-prefix']).toString().trim();
  headCommit(root);
  const status = git(root, [
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
    `--ignored=${ignored ? 'matching' : 'no'}`,
    '--no-renames',
    '--',
    ...pathspecs,
  ]).toString();
  const found: string[] = [];
  for (const entry of status.split('\0')) {
    if (entry.length < 4) continue;
    const code = entry.slice(0, 2);
    // Porcelain paths are the repository root's; the package's root may be a folder inside it.
    const path = entry.slice(3).slice(inRepository.length);
    const how =
      code === '??'
        ? 'untracked'
        : code === '!!'
          ? 'ignored by git'
          : code.includes('D')
            ? 'deleted'
            : code[0] === 'A'
              ? 'added, not committed'
              : 'modified';
    found.push(`${path} (${how})`);
  }
  return found.sort();
}

/**
 * The agreement files (those the loader reads: `agreements/*.yaml|yml|json`) whose working-tree
 * state is not HEAD's — untracked, ignored, added or changed in the index, modified or deleted —
 * each as `agreements/<file> (<how>)`. Empty when the working tree's agreements are HEAD's.
 */
export function uncommittedAgreements(root: string): string[] {
  return uncommittedFiles(root, [AGREEMENTS], true).filter((found) => {
    const path = found.slice(0, found.lastIndexOf(' ('));
    const name = path.slice(`${AGREEMENTS}/`.length);
    // The loader reads only the folder's own files; a draft in a subfolder is never loaded.
    return path.startsWith(`${AGREEMENTS}/`) && !name.includes('/') && AGREEMENT_FILE.test(name);
  });
}

/**
 * The files of {@link DEPLOYED_SOURCES} whose working-tree state is not HEAD's, each as
 * `<path> (<how>)`; files git ignores are not sources, and are left out, and so is a lockfile npm
 * only rewrote ({@link lockfileRewrittenOnly}).
 */
export function uncommittedCode(root: string): string[] {
  const found = uncommittedFiles(root, DEPLOYED_SOURCES, false);
  return found.includes(`${LOCKFILE} (modified)`) && lockfileRewrittenOnly(root)
    ? found.filter((entry) => entry !== `${LOCKFILE} (modified)`)
    : found;
}

/**
 * What `npm ci` installs from a lockfile's text: each package's place in node_modules, version,
 * source and digest, in one comparable string; undefined for a text that is not a lockfile npm 7
 * or later wrote.
 */
function resolvedDependencies(text: string): string | undefined {
  let lock: unknown;
  try {
    lock = JSON.parse(text);
  } catch {
    return undefined;
  }
  const packages = (lock as { packages?: unknown } | null)?.packages;
  if (typeof packages !== 'object' || packages === null) return undefined;
  const resolved = Object.entries(packages as Record<string, Record<string, unknown> | null>)
    .map(([path, entry]) => [path, entry?.version, entry?.resolved, entry?.integrity, entry?.link === true])
    .sort(([a], [b]) => (String(a) < String(b) ? -1 : 1));
  return JSON.stringify(resolved);
}

/**
 * The lockfile differs from HEAD's (in the working tree, the index or both) only as npm wrote it,
 * every package resolved to the same version from the same source: azd runs `npm install` in the
 * repository before the package is staged, and an npm other than the one that wrote the lockfile
 * rewrites it (indentation, `requires`, `peer`, `license`, …). The package installs HEAD's
 * lockfile whatever the working tree's says, so nothing of such a rewrite is left out.
 */
export function lockfileRewrittenOnly(root: string): boolean {
  // Deleted, or never committed: not a rewrite, and refused as such.
  if (!existsSync(join(root, LOCKFILE)) || uncommittedFiles(root, [LOCKFILE], false)[0] !== `${LOCKFILE} (modified)`)
    return false;
  const committed = git(root, ['show', `HEAD:./${LOCKFILE}`]).toString();
  const working = readFileSync(join(root, LOCKFILE), 'utf8');
  const indexed = git(root, ['show', `:./${LOCKFILE}`]).toString();
  const installed = resolvedDependencies(committed);
  return (
    installed !== undefined &&
    resolvedDependencies(working) === installed &&
    resolvedDependencies(indexed) === installed
  );
}

/**
 * Writes the tree of `commit` into `dest` (through an index of its own, leaving the checkout's
 * index and working tree alone) and returns where `root` is in it.
 */
export function checkOutCommit(root: string, commit: string, dest: string): string {
  const top = git(root, ['rev-parse', '--show-toplevel']).toString().trim();
  const inRepository = git(root, ['rev-parse', '--show-prefix']).toString().trim();
  const tree = join(dest, 'tree');
  makeFolder(tree);
  const env = { ...process.env, GIT_INDEX_FILE: join(dest, 'index') };
  git(top, ['read-tree', `${commit}^{tree}`], env);
  git(top, ['checkout-index', '--all', '--force', `--prefix=${tree}/`], env);
  return join(tree, inRepository);
}

/**
 * Writes `agreements/` as committed at `commit` (HEAD) into `dest/agreements`, whatever the working tree
 * holds. Symbolic links and submodules are left out: the loader reads regular files only.
 */
export function stageCommittedAgreements(root: string, dest: string, commit = 'HEAD'): void {
  const listing = git(root, ['ls-tree', '-r', '-z', '--full-tree', `${commit}:./${AGREEMENTS}`]).toString();
  let staged = 0;
  for (const entry of listing.split('\0')) {
    const match = /^(\d+) blob ([0-9a-f]+)\t(.+)$/s.exec(entry);
    if (!match || !(match[1] === '100644' || match[1] === '100755')) continue;
    const target = join(dest, AGREEMENTS, match[3] ?? '');
    makeFolder(dirname(target));
    writeFileSync(target, git(root, ['cat-file', 'blob', match[2] ?? '']));
    if (AGREEMENT_FILE.test(match[3] ?? '')) staged += 1;
  }
  if (staged === 0) throw new Error(`HEAD holds no agreement in ${AGREEMENTS}/: the app would refuse to start`);
}

/** Runs a step of the build with its output shown; throws naming the step if it fails. */
export function run(step: string, command: string, args: string[], cwd: string, env = process.env): void {
  const result = spawnSync(command, args, { cwd, env, stdio: 'inherit' });
  if (result.status !== 0) {
    throw new Error(`${step} failed (${result.error ? result.error.message : `exit ${String(result.status)}`})`);
  }
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv): void {
  // Under `npm run` the same npm that started the script; on its own, the one on PATH.
  const cli = env.npm_execpath;
  if (cli?.endsWith('.js')) run(`npm ${args[0] ?? ''}`, process.execPath, [cli, ...args], cwd, env);
  else run(`npm ${args[0] ?? ''}`, 'npm', args, cwd, env);
}

/**
 * `npm ci` of the production dependencies alone in `dir` (its package.json and lockfile), whatever
 * the operator's npm config says: a type in `include` outranks `--omit`, so an `include=dev` in an
 * .npmrc or `NPM_CONFIG_INCLUDE` would ship every development tool; `--include=prod` on the
 * command line outranks both. The deprecated `dev`, `also` and `production=false` include them
 * too and no command-line value undoes them (each only adds to `include`), so the lockfile's
 * development-only packages are looked for afterwards and the build refused if one was installed.
 */
export function installProductionDependencies(dir: string, env: NodeJS.ProcessEnv = process.env): void {
  // Install scripts stay on: better-sqlite3 builds its native binary in its own install script.
  npm(['ci', '--omit=dev', '--include=prod', '--ignore-scripts=false', '--no-audit', '--no-fund'], dir, env);
  const installed = developmentPackagesInstalled(dir);
  if (installed.length > 0) {
    throw new Error(
      `npm installed ${String(installed.length)} development-only packages (${installed.slice(0, 3).join(', ')}${installed.length > 3 ? ', …' : ''}) despite --omit=dev: ` +
        'an npm setting includes them (dev, also or production=false, in an .npmrc or as npm_config_* in the environment; see `npm config list`); remove it and run again',
    );
  }
}

/**
 * The `.prebuild-installrc` (for the package root) that lets better-sqlite3's install script, in
 * `npm ci`, unpack the binary the checkout's own install built rather than compile SQLite from
 * source (minutes of a build agent's
 * CPU, as prebuilt binaries are fetched from GitHub, often unreachable from one): prebuild-install
 * takes a local prebuild of its name before downloading or building. Its name holds the version,
 * Node's ABI, the platform and the architecture, and it is offered only where the checkout's
 * better-sqlite3 is the version `lockfile` installs and its binary loads under the Node running
 * this script (what `npm ci` builds for here), on glibc Linux or elsewhere as prebuild-install names
 * it; otherwise, or where it cannot be packed (no `tar` on PATH), nothing is offered, and `npm ci`
 * fetches or builds it as before.
 */
export function checkoutNativePrebuild(nodeModules: string, lockfile: string, dest: string): string | undefined {
  const root = join(nodeModules, 'better-sqlite3');
  const binary = join(root, BETTER_SQLITE3_BINARY);
  const locked = (JSON.parse(readFileSync(lockfile, 'utf8')) as { packages?: Record<string, { version?: string }> })
    .packages?.['node_modules/better-sqlite3']?.version;
  if (locked === undefined || !existsSync(binary)) return undefined;
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string };
  // prebuild-install names a musl Linux build apart; only glibc's (or another platform's) name is written here.
  const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
    ?.glibcVersionRuntime;
  if (version !== locked || (process.platform === 'linux' && glibc === undefined)) return undefined;
  const loads = spawnSync(process.execPath, ['-e', `process.dlopen({ exports: {} }, ${JSON.stringify(binary)})`]);
  if (loads.status !== 0) return undefined;
  const name = `better-sqlite3-v${locked}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  try {
    makeFolder(join(dest, 'build/Release'));
    cpSync(binary, join(dest, BETTER_SQLITE3_BINARY));
    run('tar', 'tar', ['-czf', name, 'build'], dest);
  } catch (err) {
    // Reusing the binary only saves the build `npm ci` does without it (a machine with no tar, a
    // full disk): the package is still made, and slower.
    const why = err instanceof Error ? err.message : String(err);
    process.stdout.write(
      `package: the checkout's better-sqlite3 binary could not be offered (${why}); npm ci will build it\n`,
    );
    return undefined;
  }
  // Read by prebuild-install from the install's cwd upwards, so from the package root; an
  // environment variable would not do: npm warns of an npm_config_* one it does not know, and sh
  // drops rc's own (prebuild-install_local-prebuilds) for its hyphen.
  return `local-prebuilds=${dest}\n`;
}

/** The packages the lockfile marks development-only that are installed in `dir`. */
function developmentPackagesInstalled(dir: string): string[] {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, { dev?: boolean }>;
  };
  return Object.entries(lock.packages ?? {})
    .filter(([path, entry]) => entry.dev === true && path.includes('node_modules/') && existsSync(join(dir, path)))
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
}

/** A package's entry in the lockfile, as far as what it depends on. */
interface LockEntry {
  dev?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * Dependencies a package needs only while it installs: better-sqlite3's install script runs
 * prebuild-install to fetch its binary (falling back to building it), and at run time it loads that
 * binary through `bindings` alone.
 */
const INSTALL_ONLY: Readonly<Record<string, readonly string[]>> = { 'better-sqlite3': ['prebuild-install'] };

/**
 * Removes what the production dependencies reach only through an {@link INSTALL_ONLY} dependency
 * (prebuild-install and what it alone needs: tar-fs, simple-get, node-abi, rc, …), and the
 * `.bin` links left pointing at nothing; returns their lockfile paths. A package another production
 * dependency also needs is kept.
 */
export function pruneInstallOnlyDependencies(dir: string): string[] {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages?: Record<string, LockEntry>;
  };
  const packages = lock.packages ?? {};
  const nameOf = (path: string): string => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  // Node's resolution, as the lockfile lays it out: the nearest node_modules up from the dependent.
  const resolve = (from: string, name: string): string | undefined => {
    for (let base = from; ;) {
      const path = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (packages[path] !== undefined) return path;
      if (base === '') return undefined;
      const up = base.lastIndexOf('/node_modules/');
      base = up < 0 ? '' : base.slice(0, up);
    }
  };
  const reached = new Set<string>();
  const pending = [''];
  for (let path = pending.pop(); path !== undefined; path = pending.pop()) {
    const entry = packages[path] ?? {};
    const skipped = INSTALL_ONLY[nameOf(path)] ?? [];
    const names = Object.keys({
      ...entry.dependencies,
      ...entry.optionalDependencies,
      // The project's own peers are not installed for it; a dependency's are.
      ...(path === '' ? {} : entry.peerDependencies),
    });
    for (const name of names) {
      const found = skipped.includes(name) ? undefined : resolve(path, name);
      if (found !== undefined && !reached.has(found)) {
        reached.add(found);
        pending.push(found);
      }
    }
  }
  const removed = Object.entries(packages)
    .filter(([path, entry]) => path !== '' && entry.dev !== true && !reached.has(path) && existsSync(join(dir, path)))
    .map(([path]) => path);
  for (const path of removed) rmSync(join(dir, path), { recursive: true, force: true });
  const bin = join(dir, 'node_modules/.bin');
  for (const name of existsSync(bin) ? readdirSync(bin) : [])
    if (!existsSync(join(bin, name))) rmSync(join(bin, name), { force: true });
  return removed.sort();
}

/**
 * What of better-sqlite3 is loaded at run time: lib/ (its JS), package.json (`main`, and where
 * `bindings` finds the module's root) and the binary `bindings` finds at build/Release; the
 * licence and readme are kept beside them.
 */
const BETTER_SQLITE3_KEPT = ['package.json', 'lib', 'build', 'LICENSE', 'README.md', 'node_modules'];
const BETTER_SQLITE3_BINARY = 'build/Release/better_sqlite3.node';

/**
 * Removes what better-sqlite3's install left beside its binary: the compiler's intermediates
 * (build/Release/obj*, sqlite3.a, the makefiles), the test_extension.node its tests load, and the
 * SQLite and C++ sources it was built from (deps/, src/) — about 27 MB no code loads.
 */
export function pruneNativeBuild(nodeModules: string): void {
  const root = join(nodeModules, 'better-sqlite3');
  if (!existsSync(join(root, BETTER_SQLITE3_BINARY))) {
    throw new Error(`better-sqlite3 has no ${BETTER_SQLITE3_BINARY}: its install script built nothing`);
  }
  const keepOnly = (folder: string, kept: readonly string[]): void => {
    for (const name of readdirSync(folder))
      if (!kept.includes(name)) rmSync(join(folder, name), { recursive: true, force: true });
  };
  keepOnly(root, BETTER_SQLITE3_KEPT);
  keepOnly(join(root, 'build'), ['Release']);
  keepOnly(join(root, 'build/Release'), ['better_sqlite3.node']);
}
