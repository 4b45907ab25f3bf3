import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/**
 * A product module from the compiled build (dist/, made by `npm run build`, which the bench
 * scripts run first), typed as its source. The benchmarks measure the code `npm start` and the
 * Functions host run, not the sources through tsx: tsx's transpiler wraps every function it
 * defines to keep its name, a per-closure cost the shipped code does not pay.
 */
export async function fromBuild<Module>(path: string): Promise<Module> {
  return (await import(pathToFileURL(join(ROOT, 'dist', path)).href)) as Module;
}
