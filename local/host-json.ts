import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The headers host.json's `extensions.http.customHeaders` has the Functions host add to every
 * response of its HTTP pipeline, unless the function set the header itself. HTTP Strict
 * Transport Security is set there, not in the app: the platform takes HTTPS only (the Function
 * App's `httpsOnly`), and an answer a function never gave (the host's own) should not leave a
 * browser free to try plain HTTP next time either.
 */
export function hostCustomHeaders(file = hostJsonPath()): Record<string, string> {
  const hostJson = JSON.parse(readFileSync(file, 'utf8')) as {
    extensions?: { http?: { customHeaders?: Record<string, string> } };
  };
  return { ...hostJson.extensions?.http?.customHeaders };
}

/**
 * The project's host.json, found from this module and not the working folder, which need not be
 * the project's (a host started elsewhere with its settings in the environment): above `local/`
 * run from source, above `dist/local/` built.
 */
function hostJsonPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '..', 'host.json'), resolve(here, '../..', 'host.json')];
  return candidates.find((file) => existsSync(file)) ?? candidates[0]!;
}
