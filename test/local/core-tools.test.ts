/**
 * The README's "Running under Azure Functions Core Tools", followed as a user with Core Tools
 * would (Core Tools cannot be installed here): `func start` brings no Azurite of its own, so the
 * one the README has the user start is what lintel's storage SDK talks to.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registrations } from '../../functions/index.js';
import { azuriteConnectionString, portInUse } from '../../local/azurite.js';
import { freePort } from '../../local/free-port.js';
import { containersReachable, createBlobServiceClient, ensureContainers } from '../../shared/blob/blob-storage.js';

const ROOT = join(import.meta.dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function coreToolsSection(): string {
  const start = README.indexOf('## Running under Azure Functions Core Tools');
  expect(start).toBeGreaterThanOrEqual(0);
  const end = README.indexOf('\n## ', start + 1);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The options the section gives `npx azurite`, up to a shell comment. */
function azuriteOptions(): string[] {
  const line = /npx azurite([^\n#]*)/.exec(coreToolsSection());
  expect(line, 'the section says how to start Azurite').not.toBeNull();
  return (line![1] ?? '').trim().split(/\s+/).filter(Boolean);
}

let azurite: ChildProcess | undefined;
let location: string | undefined;

afterEach(async () => {
  if (azurite && azurite.exitCode === null) {
    const exited = new Promise((resolveExit) => azurite!.once('exit', resolveExit));
    azurite.kill('SIGINT');
    await exited;
  }
  azurite = undefined;
  if (location) rmSync(location, { recursive: true, force: true });
  location = undefined;
});

describe('Azurite as the Core Tools section starts it', () => {
  it("serves lintel's blob storage: the containers are created and health sees them", async () => {
    const options = azuriteOptions();
    // The README's folder and Azurite's default ports belong to the user's own machine: this run
    // takes a throw-away folder and free ports, every other option as written.
    const at = options.indexOf('--location');
    if (at >= 0) options.splice(at, 2);
    location = mkdtempSync(join(tmpdir(), 'lintel-core-tools-'));
    const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
    const script = join(dirname(createRequire(import.meta.url).resolve('azurite/package.json')), 'dist/src/azurite.js');
    azurite = spawn(
      process.execPath,
      [
        script,
        ...options,
        '--location',
        location,
        '--blobPort',
        String(blobPort),
        '--queuePort',
        String(queuePort),
        '--tablePort',
        String(tablePort),
        '--disableTelemetry',
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 20_000;
    while (!(await portInUse(blobPort))) {
      expect(azurite.exitCode, 'Azurite exited during start-up').toBeNull();
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }

    const blobs = createBlobServiceClient({ connectionString: azuriteConnectionString(blobPort) });
    // What the first invocation under `func start` does when it builds lintel's services.
    const created = await ensureContainers(blobs).then(
      () => 'created',
      (err: { statusCode?: number; code?: string }) => `refused ${err.statusCode ?? ''} ${err.code ?? ''}`,
    );
    expect(created).toBe('created');
    expect(await containersReachable(blobs)).toBe(true);
  });
});

describe('the import queue under Core Tools', () => {
  it('is created before the section has you put an event on it: outside Azure nothing else makes it', () => {
    // In Azure the queue is infra's (storage.bicep); the Functions host's queue listener only
    // waits for it to exist, and a message put to a queue that does not exist is refused.
    const trigger = registrations().find((r) => r.kind === 'blob-created');
    expect(trigger).toBeDefined();
    const section = coreToolsSection();
    const put = section.indexOf(`az storage message put`);
    expect(put, 'the section puts an event on the queue').toBeGreaterThanOrEqual(0);
    const create = new RegExp(`az storage queue create [^\`\n]*--name ${trigger!.queue}(?![\\w-])`).exec(section);
    expect(create?.index ?? -1, `az storage queue create … --name ${trigger!.queue}`).toBeGreaterThanOrEqual(0);
    expect(create!.index).toBeLessThan(put);
  });
});
