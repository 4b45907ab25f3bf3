import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../local/free-port.js';

/** Start the real `npm start` entry point (through tsx, so no build is needed) in an empty folder. */
function startHost(env: Record<string, string>) {
  const cwd = mkdtempSync(join(tmpdir(), 'lintel-startup-'));
  return spawnSync(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(import.meta.dirname, '../../local/host.ts')],
    {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
}

describe('start-up with bad settings', () => {
  it('exits non-zero naming a missing required setting', () => {
    const result = startHost({});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('AzureWebJobsStorage: is required');
  });

  it('exits non-zero naming a malformed setting, without its value', () => {
    const result = startHost({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', STORE_ENGINE: 'oracle-s3cr3t' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('STORE_ENGINE: must be one of sqlite, mssql');
    expect(result.stderr).not.toContain('s3cr3t');
  });
});

describe('npm start beside the scripts', () => {
  it('notes the port of the Azurite it started while it runs, and forgets it when stopped with Ctrl-C', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'lintel-startup-'));
    // Run from source, the store's worker threads import tsx by name from the working folder.
    symlinkSync(join(import.meta.dirname, '../../node_modules'), join(cwd, 'node_modules'));
    const blobPort = await freePort();
    const host = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(import.meta.dirname, '../../local/host.ts')],
      {
        cwd,
        env: {
          PATH: process.env.PATH ?? '',
          AzureWebJobsStorage: 'UseDevelopmentStorage=true',
          AZURITE_BLOB_PORT: String(blobPort),
          LINTEL_HOST_PORT: String(await freePort()),
          LINTEL_DEMO_SEED: 'off',
          AGREEMENTS_DIR: join(import.meta.dirname, '../../agreements'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((resolveExit) => host.once('exit', (code) => resolveExit(code)));
    let output = '';
    host.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolveListening, reject) => {
      host.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('listening on')) resolveListening();
      });
      void exited.then(() => reject(new Error(`the host exited during start-up: ${output}`)));
    });
    const note = join(cwd, '.lintel/azurite.json');
    try {
      expect(JSON.parse(readFileSync(note, 'utf8'))).toEqual({ blobPort, pid: host.pid });
    } finally {
      host.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(existsSync(note), 'the note outlived the host').toBe(false);
  }, 90_000);
});
