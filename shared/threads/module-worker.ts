import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread whose entry is one of our own modules, named by a URL beside the caller
 * (`new URL('./x.js', import.meta.url)`). The compiled build loads the `.js` file as it is.
 * Run from source (tsx, vitest), the caller's own URL ends in `.ts` and no loader is inherited
 * by the thread, so the module is imported through tsx's register API from a small bootstrap;
 * tsx is a development dependency and is never reached from the build.
 */
export function startModuleWorker(moduleUrl: URL, options: WorkerOptions = {}): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** The URL of a sibling module with the same extension as `importMetaUrl` (`.ts` from source, `.js` built). */
export function siblingModule(name: string, importMetaUrl: string): URL {
  const extension = importMetaUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${extension}`, importMetaUrl);
}
