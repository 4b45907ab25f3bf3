import { spawn, spawnSync, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { portInUse } from '../../local/azurite.js';
import { freePort } from '../../local/free-port.js';
import { minimalEnv } from '../support/child-env.js';

/** Start the real `npm start` entry point (through tsx, so no build is needed) in an empty folder. */
function startHost(env: Record<string, string>) {
  const cwd = mkdtempSync(join(tmpdir(), 'lintel-startup-'));
  return spawnSync(HOST_FROM_SOURCE[0]!, HOST_FROM_SOURCE.slice(1), {
    cwd,
    env: minimalEnv(env),
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** The `npm start` entry point run from source (through tsx, so no build is needed). */
const HOST_FROM_SOURCE = [
  process.execPath,
  '--import',
  import.meta.resolve('tsx'),
  join(import.meta.dirname, '../../local/host.ts'),
];

/** A folder to run the host in, and the settings of a host with an Azurite of its own on a free port. */
async function hostFolder(): Promise<{ cwd: string; blobPort: number; env: Record<string, string> }> {
  const cwd = mkdtempSync(join(tmpdir(), 'lintel-startup-'));
  // Run from source, the store's worker threads import tsx by name from the working folder.
  symlinkSync(join(import.meta.dirname, '../../node_modules'), join(cwd, 'node_modules'));
  const blobPort = await freePort();
  const env = minimalEnv({
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    AZURITE_BLOB_PORT: String(blobPort),
    LINTEL_HOST_PORT: String(await freePort()),
    LINTEL_DEMO_SEED: 'off',
    AGREEMENTS_DIR: join(import.meta.dirname, '../../agreements'),
  });
  return { cwd, blobPort, env };
}

/** Resolves once `child` (the host, or a shell running it) prints that it listens; rejects if it exits first. */
function listening(child: ChildProcessByStdio<null, Readable, Readable>): Promise<void> {
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise<void>((resolveListening, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) resolveListening();
    });
    child.once('exit', () => reject(new Error(`the host exited during start-up: ${output}`)));
  });
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

describe("start-up with a setting's folder that cannot be made", () => {
  // Node's recursive mkdir spun for ever at full CPU on this folder, and npm start said nothing.
  // A spinning host runs no SIGTERM handler, so the timeout kills it outright (status null); the
  // storage named is the shared Azurite's, so the host starts no Azurite of its own to be left behind.
  it('exits promptly naming SQLITE_PATH and its folder under /proc', async () => {
    const { cwd, env } = await hostFolder();
    const result = spawnSync(HOST_FROM_SOURCE[0]!, HOST_FROM_SOURCE.slice(1), {
      cwd,
      env: {
        ...env,
        AzureWebJobsStorage: inject('azuriteConnectionString'),
        SQLITE_PATH: '/proc/nope/lintel.db',
      },
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    expect(result.status, 'the host was killed while starting').toBe(1);
    expect(result.stderr).toContain('lintel: cannot start.');
    expect(result.stderr).toContain('SQLITE_PATH: cannot make the folder /proc/nope (ENOENT)');
  }, 90_000);

  // Each folder was found bad only as it was first written, after npm start had started its
  // Azurite (and said so), the secrets' and the issuer key's as "start-up failed: cannot make the
  // folder …", naming no setting: refused now before anything starts, each naming its setting.
  it.each([['SQLITE_PATH'], ['LOCAL_SECRETS_PATH'], ['DEV_ISSUER_KEY_PATH']])(
    'refuses a %s whose folder cannot be made before it starts an Azurite of its own',
    async (setting) => {
      const { cwd, blobPort, env } = await hostFolder();
      const result = spawnSync(HOST_FROM_SOURCE[0]!, HOST_FROM_SOURCE.slice(1), {
        cwd,
        env: { ...env, [setting]: '/proc/nope/file' },
        encoding: 'utf8',
        timeout: 60_000,
        killSignal: 'SIGKILL',
      });
      expect(result.status, 'the host was killed while starting').toBe(1);
      expect(result.stderr).toBe(
        `lintel: cannot start. Invalid configuration:\n  - ${setting}: cannot make the folder /proc/nope (ENOENT)\n`,
      );
      expect(result.stdout).not.toContain('Azurite blob service');
      expect(existsSync(join(cwd, '.lintel/azurite')), "Azurite's folder was made").toBe(false);
      expect(await portInUse(blobPort)).toBe(false);
    },
    90_000,
  );
});

describe('start-up with a SQLITE_PATH that is no SQLite database', () => {
  // npm start said "lintel: start-up failed: file is not a database", naming no setting, once its
  // Azurite had started.
  it('exits naming SQLITE_PATH and the file before it starts an Azurite of its own', async () => {
    const { cwd, blobPort, env } = await hostFolder();
    const notes = join(cwd, 'notes.txt');
    writeFileSync(notes, 'the housing register, to be loaded on Monday\n');
    const result = spawnSync(HOST_FROM_SOURCE[0]!, HOST_FROM_SOURCE.slice(1), {
      cwd,
      env: { ...env, SQLITE_PATH: notes },
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    expect(result.status, 'the host was killed while starting').toBe(1);
    expect(result.stderr).toBe(
      `lintel: cannot start. Invalid configuration:\n  - SQLITE_PATH: ${notes} is not a SQLite database\n`,
    );
    expect(result.stdout).not.toContain('Azurite blob service');
    expect(await portInUse(blobPort)).toBe(false);
  }, 90_000);
});

describe('start-up with a port variable that is no port', () => {
  // Read by Number(), "abc" reached Node as NaN: npm start said "lintel: Port should be >= 0 and
  // < 65536. Received type number (NaN).", naming no variable, having started its Azurite first
  // where only LINTEL_HOST_PORT was wrong.
  it.each([['AZURITE_BLOB_PORT'], ['LINTEL_HOST_PORT']])(
    'refuses %s=abc naming it, before it starts an Azurite of its own',
    async (variable) => {
      const { cwd, blobPort, env } = await hostFolder();
      const result = spawnSync(HOST_FROM_SOURCE[0]!, HOST_FROM_SOURCE.slice(1), {
        cwd,
        env: { ...env, [variable]: 'abc' },
        encoding: 'utf8',
        timeout: 60_000,
        killSignal: 'SIGKILL',
      });
      expect(result.status, 'the host was killed while starting').toBe(1);
      expect(result.stderr).toBe(
        `lintel: cannot start. Invalid configuration:\n  - ${variable}: must be a port, a whole number from 1 to 65535\n`,
      );
      expect(result.stdout).not.toContain('Azurite blob service');
      expect(await portInUse(blobPort)).toBe(false);
    },
    90_000,
  );
});

describe('start-up with a development key file that cannot be used', () => {
  // A key file edited by hand (a version restored with its quotes lost) stopped npm start with
  // "start-up failed:" and JSON.parse's message, which quotes the text around the fault: the key.
  it('exits naming LOCAL_SECRETS_PATH and the file, quoting none of it', async () => {
    const { cwd, env } = await hostFolder();
    const keyFile = join(cwd, 'secrets.json');
    const key = randomBytes(32).toString('base64');
    writeFileSync(keyFile, `{"secrets":{"pseudonymisation-key":{"current":"v1","versions":{"v1": ${key}}}}}`);
    const result = spawnSync(HOST_FROM_SOURCE[0]!, HOST_FROM_SOURCE.slice(1), {
      cwd,
      env: { ...env, AzureWebJobsStorage: inject('azuriteConnectionString'), LOCAL_SECRETS_PATH: keyFile },
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    expect(result.status, 'the host was killed while starting').toBe(1);
    expect(result.stderr).toContain('lintel: cannot start.');
    expect(result.stderr).toContain(`LOCAL_SECRETS_PATH: ${keyFile} is not JSON`);
    expect(result.stderr).not.toContain(key.slice(0, 6));
  }, 90_000);
});

describe('npm start beside the scripts', () => {
  it('notes the port of the Azurite it started while it runs, and forgets it when stopped with Ctrl-C', async () => {
    const { cwd, blobPort, env } = await hostFolder();
    const host = spawn(HOST_FROM_SOURCE[0]!, HOST_FROM_SOURCE.slice(1), {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolveExit) => host.once('exit', (code) => resolveExit(code)));
    await listening(host);
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

describe('npm start stopped through npm', () => {
  // `npm start` runs the host under `sh -c`; killing npm (an IDE's stop button, `kill $!` after
  // `npm start &`) sends SIGTERM to that shell, which dies without passing it on. The host and
  // its Azurite went on, holding 7071 and 10000, and the next `npm start` refused to start.
  it('stops the host and its Azurite when the shell that ran it is gone', async () => {
    const { cwd, blobPort, env } = await hostFolder();
    const hostCommand = HOST_FROM_SOURCE.map((word) => `'${word}'`).join(' ');
    // `; true` keeps sh from replacing itself with node, as npm's script shell does not.
    const shell = spawn('sh', ['-c', `${hostCommand}; true`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    await listening(shell);
    const hostPid = (JSON.parse(readFileSync(join(cwd, '.lintel/azurite.json'), 'utf8')) as { pid: number }).pid;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    shell.kill('SIGTERM');
    const deadline = Date.now() + 15_000;
    while (alive(hostPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const hostLived = alive(hostPid);
    if (hostLived) process.kill(hostPid, 'SIGINT');
    expect(hostLived, 'the host outlived the shell that ran it').toBe(false);
    expect(await portInUse(blobPort), 'its Azurite outlived it').toBe(false);
  }, 90_000);
});

describe('a host that fails outright', () => {
  // Seen while testing the host from source in a folder without node_modules: a worker thread's
  // uncaught error ended the host, and its Azurite child went on under init, port held.
  it('takes its Azurite with it', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'lintel-startup-'));
    const blobPort = await freePort();
    const azuriteModule = pathToFileURL(join(import.meta.dirname, '../../local/azurite.ts')).href;
    const crash = spawnSync(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        '--input-type=module',
        '-e',
        `const { startAzurite } = await import(${JSON.stringify(azuriteModule)});
         await startAzurite({ port: ${blobPort}, location: ${JSON.stringify(join(cwd, 'azurite'))} });
         setTimeout(() => { throw new Error('failed outright'); }, 10);`,
      ],
      { cwd, encoding: 'utf8', timeout: 60_000 },
    );
    expect(crash.stderr).toContain('failed outright');
    let free = false;
    for (const deadline = Date.now() + 10_000; !free && Date.now() < deadline;) {
      free = !(await portInUse(blobPort));
      if (!free) await new Promise((r) => setTimeout(r, 200));
    }
    expect(free, 'its Azurite outlived it').toBe(true);
  }, 90_000);
});
