import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

/**
 * Bundles every module of ours that shared/ starts as a thread (named to `siblingModule`) into
 * one file each, under a new folder of `<root>/.lintel/`, and returns that folder, for
 * shared/threads/module-worker.ts to load instead of importing the module through tsx
 * (THREAD_BUNDLES_VARIABLE says why). Packages stay outside the bundles, imported from
 * node_modules as they are (the folder is inside the repository so that they resolve); our own
 * modules are compiled as tsx compiles them (esbuild, the same tsconfig), once for the run.
 */
export async function buildThreadBundles(root: string): Promise<string> {
  const entryPoints = threadModules(join(root, 'shared'));
  const local = join(root, '.lintel');
  mkdirSync(local, { recursive: true });
  removeAbandoned(local);
  const folder = mkdtempSync(join(local, 'thread-bundles-'));
  await build({
    entryPoints,
    outbase: root,
    outdir: folder,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    tsconfig: join(root, 'tsconfig.json'),
    logLevel: 'warning',
  });
  return folder;
}

/** A day: longer than any run, so a folder this old is a killed run's, not a run going on beside. */
const ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;

/** Removes the bundle folders killed runs left (a run's teardown removes its own). */
function removeAbandoned(local: string): void {
  for (const name of readdirSync(local)) {
    const folder = join(local, name);
    if (name.startsWith('thread-bundles-') && Date.now() - statSync(folder).mtimeMs > ABANDONED_AFTER_MS)
      rmSync(folder, { recursive: true, force: true });
  }
}

/** The modules under `folder` that a module beside them starts as a thread: `siblingModule('name', …)`. */
export function threadModules(folder: string): string[] {
  const found = new Set<string>();
  for (const file of readdirSync(folder, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const path = join(folder, file);
    for (const [, name] of readFileSync(path, 'utf8').matchAll(/siblingModule\(\s*'([\w-]+)'/g)) {
      const module = join(dirname(path), `${name}.ts`);
      if (existsSync(module)) found.add(module);
    }
  }
  return [...found].sort();
}
