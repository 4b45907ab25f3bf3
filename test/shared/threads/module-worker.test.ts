import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startModuleWorker, THREAD_BUNDLES_VARIABLE } from '../../../shared/threads/module-worker.js';
import { threadModules } from '../../support/thread-bundles.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ECHO = new URL('./echo-thread.ts', import.meta.url);

/** The first message a thread started on `moduleUrl` answers 'hello' with. */
async function answerOf(moduleUrl: URL): Promise<string> {
  const worker = startModuleWorker(moduleUrl);
  try {
    worker.postMessage('hello');
    const [answer] = (await once(worker, 'message')) as [string];
    return answer;
  } finally {
    await worker.terminate();
  }
}

/**
 * Run from source, a thread of ours loads a bundle of its module where the run made one
 * (test/support/thread-bundles.ts), and imports the module through tsx where not.
 */
describe('threads started from source', () => {
  const before = process.env[THREAD_BUNDLES_VARIABLE];
  afterEach(() => {
    if (before === undefined) delete process.env[THREAD_BUNDLES_VARIABLE];
    else process.env[THREAD_BUNDLES_VARIABLE] = before;
  });

  it('load the bundle of their module, when the run has one', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'thread-bundles-'));
    mkdirSync(join(folder, 'test/shared/threads'), { recursive: true });
    writeFileSync(
      join(folder, 'test/shared/threads/echo-thread.mjs'),
      `import { parentPort } from 'node:worker_threads';
       parentPort.on('message', (message) => parentPort.postMessage('bundled:' + message));`,
    );
    process.env[THREAD_BUNDLES_VARIABLE] = folder;
    expect(await answerOf(ECHO)).toBe('bundled:hello');
  });

  it('import their module through tsx where the run has no bundle of it, or no bundles', async () => {
    process.env[THREAD_BUNDLES_VARIABLE] = mkdtempSync(join(tmpdir(), 'thread-bundles-'));
    expect(await answerOf(ECHO)).toBe('echo:hello');
    delete process.env[THREAD_BUNDLES_VARIABLE];
    expect(await answerOf(ECHO)).toBe('echo:hello');
  });

  it('in a `vitest run`, each have a bundle: every module shared/ starts as a thread (in watch mode, none)', () => {
    const modules = threadModules(join(ROOT, 'shared'));
    // The log's writer and the store's reads at least: a search that finds none finds nothing.
    expect(modules.map((module) => module.slice(ROOT.length))).toEqual(
      expect.arrayContaining(['shared/audit/access-log-thread.ts', 'shared/store/read-thread.ts']),
    );
    const folder = process.env[THREAD_BUNDLES_VARIABLE];
    // Watch mode's sources change under it: its threads go through tsx, never a bundle gone stale.
    if (inject('watchMode')) {
      expect(folder).toBeUndefined();
      return;
    }
    expect(folder).toBeTruthy();
    for (const module of modules)
      expect([module, existsSync(join(folder!, module.slice(ROOT.length).replace(/\.ts$/, '.mjs')))]).toEqual([
        module,
        true,
      ]);
  });
});
