import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { relative } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Where a run from source finds its threads' modules bundled ahead of time: a folder holding, for
 * each thread module, one file of it and everything of ours it imports (`<path from the
 * repository's root>.mjs`). The test run builds one (test/support/thread-bundles.ts) from the
 * sources as they are when it starts. Unset, or without a module's bundle, a thread imports it
 * through tsx.
 */
export const THREAD_BUNDLES_VARIABLE = 'LINTEL_THREAD_BUNDLES';

/** The repository's root, seen from this module's own place in it (shared/threads/). */
const ROOT = new URL('../../', import.meta.url);

/**
 * Starts a worker thread whose entry is one of our own modules, named by a URL beside the caller
 * (`new URL('./x.js', import.meta.url)`). The compiled build loads the `.js` file as it is.
 * Run from source (tsx, vitest), the caller's own URL ends in `.ts` and no loader is inherited
 * by the thread, so the module is imported through tsx's register API from a small bootstrap;
 * tsx is a development dependency and is never reached from the build. Through tsx a thread
 * spends 0.3–3 s compiling and loading its modules before it answers (the longer on a busy
 * machine), and the tests start thousands of threads (every store has its log's and its reads'):
 * where a bundle of the module is at hand ({@link THREAD_BUNDLES_VARIABLE}), it is loaded instead.
 */
export function startModuleWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  const bundle = threadBundleOf(moduleUrl);
  if (bundle !== undefined) return new Worker(bundle, options);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** The bundle of a module of ours, run from source, if the run has one. */
function threadBundleOf(moduleUrl: URL): URL | undefined {
  const folder = process.env[THREAD_BUNDLES_VARIABLE];
  if (folder === undefined || folder === '') return undefined;
  const source = relative(fileURLToPath(ROOT), fileURLToPath(moduleUrl));
  const bundle = pathToFileURL(`${folder}/${source.replace(/\.ts$/, '.mjs')}`);
  return existsSync(bundle) ? bundle : undefined;
}

/** The URL of a sibling module with the same extension as `importMetaUrl` (`.ts` from source, `.js` built). */
export function siblingModule(name: string, importMetaUrl: string): URL {
  const extension = importMetaUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${extension}`, importMetaUrl);
}
