/**
 * `npm run package` — stage the Function App's deployment package in `.lintel/package` (or
 * `--out <dir>`): the compiled `functions/` and `shared/`, `host.json`, `package.json`, the
 * lockfile, the agreement files, and the production dependencies alone, installed there with
 * `npm ci --omit=dev` (better-sqlite3's native build included; prebuild-install, which only its
 * install script runs, removed after). azd deploys that folder as it is
 * (`dist:` in azure.yaml, run by its `prepackage` hook); so does `func azure functionapp publish
 * <app> --node` run inside it (`--node`: the worker runtime Core Tools would otherwise read from a
 * local.settings.json, which the package must not hold).
 *
 * Why a folder of its own: deploying the repository folder carried every development tool in
 * node_modules (vitest, tsx, eslint, azurite, typescript, …) into an app that processes
 * children's social-care data, and hid any production import of a development dependency until it
 * failed in Azure. test/scripts/package.test.ts stages a package and loads its entry point there.
 *
 * Everything is built as committed at HEAD, not as the working tree holds it: the code is compiled
 * from HEAD's tree checked out apart, and host.json, package.json, the lockfile and the agreements
 * are HEAD's, so what runs in production is what was reviewed (or signed off) and committed, never
 * an edit or a draft lying in the operator's checkout, and `lintel-build.json` names the commit. A
 * working tree that differs from HEAD there (a file untracked, modified, deleted or only staged) is
 * refused, naming the files, unless `--leave-out-uncommitted-agreements` (for the agreements) or
 * `--leave-out-uncommitted-code` (for the rest) says to build HEAD's regardless. A lockfile that
 * `npm install` only rewrote (azd runs it in the repository first), every package resolved as at
 * HEAD, is not refused: HEAD's is the one installed.
 *
 * Exit status 0 staged, 1 failed, 2 an option given wrongly or the working tree not committed.
 */
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
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { makeFolder, parseOptions, refuseUsage } from './cli.js';
import {
  AGREEMENTS,
  BUILD_RECORD,
  buildRecordText,
  checkOutCommit,
  checkoutNativePrebuild,
  headCommit,
  installProductionDependencies,
  LOCKFILE,
  lockfileRewrittenOnly,
  pruneInstallOnlyDependencies,
  pruneNativeBuild,
  run,
  stageCommittedAgreements,
  UncommittedChangesError,
  uncommittedAgreements,
  uncommittedCode,
} from './package-steps.js';

const ROOT = resolve(import.meta.dirname, '..');

/** What the app reads beside its code at run time, copied from HEAD: the host's settings (AGREEMENTS_DIR's default is staged apart). */
const RUNTIME_FILES = ['host.json', 'package.json', LOCKFILE];

/** Compiled from tsconfig.build.json but never run by the Functions host: the local host and the operator CLIs. */
const NOT_DEPLOYED = ['local', 'scripts'];

/**
 * Written into the package: azd keeps node_modules out of a Node package unless a `.zipignore`
 * is found (its newer releases) or the host's `.funcignore` is (older ones); `func azure
 * functionapp publish` reads `.funcignore` too. Nothing in the staged folder is to be left out.
 */
const KEEP_EVERYTHING = '# Staged by `npm run package`: everything here is deployed, node_modules included.\n';

/** prebuild-install's settings file, read up from better-sqlite3's folder; written for the install alone. */
const PREBUILD_SETTINGS = '.prebuild-installrc';

const USAGE =
  'npm run package [-- [--out <dir>] [--leave-out-uncommitted-agreements] [--leave-out-uncommitted-code]]   (stages the deployment package, .lintel/package by default, built as committed at HEAD)';

/**
 * Refuses (exit 2, an option given wrongly: nothing was staged or removed) an output folder
 * whose removal would take the sources with it.
 */
function checkedOut(out: string): string {
  const inside = relative(out, ROOT);
  if (inside === '' || !(inside.startsWith('..') || isAbsolute(inside))) {
    refuseUsage('package', `--out must not be the repository or a folder holding it: ${out}`, USAGE);
  }
  return out;
}

function sizeOf(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

const { values } = parseOptions('package', USAGE, {
  options: {
    out: { type: 'string' },
    'leave-out-uncommitted-agreements': { type: 'boolean' },
    'leave-out-uncommitted-code': { type: 'boolean' },
  },
});
const out = checkedOut(resolve(values.out ?? join(ROOT, '.lintel/package')));
// Made before anything is removed or built: a file given as --out was removed in its place, and
// where no folder can be made (`/proc/nope`) Node's recursive mkdir spun for ever.
makeFolder('package', out, '--out');

try {
  const commit = headCommit(ROOT);
  const agreements = uncommittedAgreements(ROOT);
  const code = uncommittedCode(ROOT);
  const refusedAgreements = values['leave-out-uncommitted-agreements'] ? [] : agreements;
  const refusedCode = values['leave-out-uncommitted-code'] ? [] : code;
  if (refusedAgreements.length > 0 || refusedCode.length > 0)
    throw new UncommittedChangesError(refusedAgreements, refusedCode);
  if (agreements.length > 0)
    process.stderr.write(
      `package: staging ${AGREEMENTS}/ as committed at HEAD; left as HEAD has them: ${agreements.join(', ')}\n`,
    );
  if (code.length > 0)
    process.stderr.write(`package: staging the code as committed at HEAD; left as HEAD has them: ${code.join(', ')}\n`);
  if (lockfileRewrittenOnly(ROOT))
    process.stderr.write(
      `package: ${LOCKFILE} differs from HEAD only as npm wrote it, every package resolved alike; installing HEAD's\n`,
    );
  rmSync(out, { recursive: true, force: true });
  makeFolder('package', out, '--out');

  const build = mkdtempSync(join(tmpdir(), 'lintel-package-build-'));
  try {
    const source = checkOutCommit(ROOT, commit, build);
    // HEAD's tree holds no node_modules, and the compile needs the type packages; the production
    // dependencies are installed from HEAD's lockfile below, not taken from here.
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'junction');
    // A fresh compile into the package, so no stale output of a renamed or deleted module ships.
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    run(
      'tsc',
      process.execPath,
      [tsc, '-p', join(source, 'tsconfig.build.json'), '--outDir', join(out, 'dist')],
      source,
    );
    for (const folder of NOT_DEPLOYED) rmSync(join(out, 'dist', folder), { recursive: true, force: true });
    for (const name of RUNTIME_FILES) cpSync(join(source, name), join(out, name));
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
  stageCommittedAgreements(ROOT, out, commit);
  writeFileSync(join(out, BUILD_RECORD), buildRecordText(commit, [...agreements, ...code], new Date()));
  writeFileSync(join(out, '.zipignore'), KEEP_EVERYTHING);
  writeFileSync(join(out, '.funcignore'), KEEP_EVERYTHING);

  const prebuild = mkdtempSync(join(tmpdir(), 'lintel-package-prebuild-'));
  let reusedBinary = false;
  try {
    const offered = checkoutNativePrebuild(join(ROOT, 'node_modules'), join(out, LOCKFILE), prebuild);
    if (offered !== undefined) writeFileSync(join(out, PREBUILD_SETTINGS), offered);
    installProductionDependencies(out);
    // Unpacked, not compiled: no compiler intermediates beside it, and the checkout's very bytes.
    const release = 'better-sqlite3/build/Release';
    reusedBinary =
      offered !== undefined &&
      !existsSync(join(out, 'node_modules', release, 'obj.target')) &&
      readFileSync(join(out, 'node_modules', release, 'better_sqlite3.node')).equals(
        readFileSync(join(ROOT, 'node_modules', release, 'better_sqlite3.node')),
      );
  } finally {
    rmSync(prebuild, { recursive: true, force: true });
    rmSync(join(out, PREBUILD_SETTINGS), { force: true });
  }
  pruneNativeBuild(join(out, 'node_modules'));
  pruneInstallOnlyDependencies(out);

  const megabytes = (sizeOf(join(out, 'node_modules')) / 1_048_576).toFixed(0);
  const packages = readdirSync(join(out, 'node_modules')).filter((name) => !name.startsWith('.')).length;
  const shown = relative(process.cwd(), out) || '.';
  process.stdout.write(`package: staged ${shown} (node_modules ${megabytes} MB, ${packages} top-level entries)\n`);
  if (reusedBinary)
    process.stdout.write(
      "package: better-sqlite3's binary is the checkout's own build (same version, Node ABI and platform), not compiled again\n",
    );
} catch (err) {
  process.stderr.write(`package: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof UncommittedChangesError ? 2 : 1;
}
