// `npm run import` follows an import from blob storage alone. When the file has left incoming and
// no report under its name is of its bytes, where the importer moved it is all that says how it
// ended (movedSince, scripts/import.ts): found in rejected/, the script exits 2 as a rejection.
// It looks under the handled name, `~` added to a name ending like a report; the script no longer
// uploads such a name (the importer reads no `.json`: refuseUnreadable), so the file here is a .csv.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startAzurite } from '../../local/azurite.js';
import { freePort } from '../../local/free-port.js';
import { CONTAINERS, ensureContainers } from '../../shared/blob/blob-storage.js';
import { handledName } from '../../shared/imports/handled-names.js';
import { minimalEnv } from '../support/child-env.js';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'lintel-import-follow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/**
 * The extract a test uploads, in a folder of its own: the tests run at once (each waits on its
 * script's following, most of it idle), and a test rewriting a shared file as another's script read
 * it would upload an empty one.
 */
function extractFile(): string {
  const file = join(mkdtempSync(join(dir, 'extract-')), 'extract.csv');
  writeFileSync(file, 'firstName,lastName\nTest,Person\n');
  return file;
}
/**
 * No importer runs in these tests, but the script looks for the local host on its port
 * (LINTEL_HOST_PORT) while it follows: something listening there stands in for it.
 */
const standInHost = createServer((socket) => socket.destroy());
const standInHostReady = new Promise<void>((done) => standInHost.listen(0, '127.0.0.1', done));
afterAll(() => new Promise<void>((done) => standInHost.close(() => done())));
const standInHostPort = async () => {
  await standInHostReady;
  return String((standInHost.address() as AddressInfo).port);
};

describe.concurrent('npm run import, the file moved without a report under its name', () => {
  it('finds the file in rejected/, and exits as its rejection did', async () => {
    const connection = inject('azuriteConnectionString');
    const blobs = BlobServiceClient.fromConnectionString(connection);
    await ensureContainers(blobs);
    const file = extractFile();
    const name = `import-follow-${randomUUID()}.csv`;
    const blobName = `kettering-borough-council/keyways-housing-register/${name}`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        join(ROOT, 'scripts/import.ts'),
        file,
        '--party',
        'kettering-borough-council',
        '--dataset',
        'keyways-housing-register',
        '--name',
        name,
        '--timeout',
        '30',
      ],
      {
        cwd: ROOT,
        env: minimalEnv({
          LOG_LEVEL: 'error',
          LINTEL_ENV: 'test',
          AzureWebJobsStorage: connection,
          LINTEL_HOST_PORT: await standInHostPort(),
        }),
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((done) => child.on('close', done));

    // The importer, as blob storage shows it: no importer runs here, so the test moves the upload
    // to rejected/ under the name moveExtract gives it, and writes no report.
    const incoming = blobs.getContainerClient(CONTAINERS.incoming).getBlobClient(blobName);
    const moved = blobs.getContainerClient(CONTAINERS.rejected).getBlockBlobClient(handledName(blobName));
    try {
      const deadline = Date.now() + 30_000;
      while (!(await incoming.exists()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await (await moved.beginCopyFromURL(incoming.url)).pollUntilDone();
      await incoming.delete();
      const status = await exited;
      expect(stderr).toBe('');
      expect(stdout).toContain('The same content was imported before (rejected); nothing was applied again.');
      expect(status).toBe(2);
    } finally {
      child.kill();
      await incoming.deleteIfExists();
      await moved.deleteIfExists();
    }
  }, 60_000);
});

describe.concurrent('npm run import, Ctrl-C while it follows the import', () => {
  // The file is uploaded by then, and the host imports it whatever the script does: the script
  // died on the signal mid-bar, and the operator took the import for stopped.
  it('says the import goes on and where its report will be, and exits 130', async () => {
    const connection = inject('azuriteConnectionString');
    const blobs = BlobServiceClient.fromConnectionString(connection);
    await ensureContainers(blobs);
    const file = extractFile();
    const name = `import-follow-${randomUUID()}.csv`;
    const blobName = `kettering-borough-council/keyways-housing-register/${name}`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        join(ROOT, 'scripts/import.ts'),
        file,
        '--party',
        'kettering-borough-council',
        '--dataset',
        'keyways-housing-register',
        '--name',
        name,
        '--timeout',
        '30',
      ],
      {
        cwd: ROOT,
        env: minimalEnv({
          LOG_LEVEL: 'error',
          LINTEL_ENV: 'test',
          AzureWebJobsStorage: connection,
          LINTEL_HOST_PORT: await standInHostPort(),
        }),
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((done) =>
      child.on('close', (code, signal) => done([code, signal])),
    );
    // No importer runs here: the upload waits in incoming/ while the script follows it.
    const incoming = blobs.getContainerClient(CONTAINERS.incoming).getBlobClient(blobName);
    try {
      const deadline = Date.now() + 30_000;
      while (!stdout.includes('uploading') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await incoming.exists()).toBe(true);
      child.kill('SIGINT');
      const [status, signal] = await exited;
      expect(stderr).toBe('');
      expect(stdout).toContain(
        `Stopped following; the import was not stopped. Its report will be at processed/${blobName}.report.json or rejected/${blobName}.report.json.`,
      );
      expect({ status, signal }).toEqual({ status: 130, signal: null });
    } finally {
      child.kill();
      await incoming.deleteIfExists();
    }
  }, 60_000);
});

describe.concurrent('npm run import, the local stack stopped while it follows the import', () => {
  // `npm start` stops its Azurite with it: the storage calls of the following were refused, and
  // the script printed Node's `import: connect ECONNREFUSED 127.0.0.1:<port>`, which says neither
  // what refused nor what to do, where the other CLIs ask whether `npm start` is running.
  it('asks whether the local host is running, in one line (exit 1)', async () => {
    const location = mkdtempSync(join(tmpdir(), 'lintel-import-follow-azurite-'));
    const azurite = await startAzurite({ port: await freePort(), location });
    await ensureContainers(BlobServiceClient.fromConnectionString(azurite.connectionString));
    const file = extractFile();
    const child = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        join(ROOT, 'scripts/import.ts'),
        file,
        '--party',
        'kettering-borough-council',
        '--dataset',
        'keyways-housing-register',
        '--name',
        `import-follow-${randomUUID()}.csv`,
        '--timeout',
        '90',
      ],
      {
        cwd: ROOT,
        env: minimalEnv({
          LOG_LEVEL: 'error',
          LINTEL_ENV: 'test',
          AzureWebJobsStorage: azurite.connectionString,
          LINTEL_HOST_PORT: await standInHostPort(),
        }),
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((done) => child.on('close', done));
    try {
      const deadline = Date.now() + 30_000;
      while (!stdout.includes('uploading') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect({ stdout, stderr }).toMatchObject({ stdout: expect.stringContaining('uploading') as unknown, stderr: '' });
      await azurite.stop();
      const status = await exited;
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toContain('is the local host (npm start) running?');
      expect(stderr).not.toContain('ECONNREFUSED 127.0.0.1');
      expect(status).toBe(1);
    } finally {
      child.kill();
      await azurite.stop();
      rmSync(location, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.concurrent('npm run import, Azurite up but no local host', () => {
  // Azurite started some other way, the host not at all: nothing imports the file, and the script
  // waited out its --timeout (600 s by default) before asking whether `npm start` was running.
  it('says nothing listens on the host port, well before its --timeout (exit 1)', async () => {
    const connection = inject('azuriteConnectionString');
    await ensureContainers(BlobServiceClient.fromConnectionString(connection));
    const hostPort = await freePort();
    const file = extractFile();
    const name = `import-follow-${randomUUID()}.csv`;
    const blobName = `kettering-borough-council/keyways-housing-register/${name}`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        import.meta.resolve('tsx'),
        join(ROOT, 'scripts/import.ts'),
        file,
        '--party',
        'kettering-borough-council',
        '--dataset',
        'keyways-housing-register',
        '--name',
        name,
        '--timeout',
        '60',
      ],
      {
        cwd: ROOT,
        env: minimalEnv({
          LOG_LEVEL: 'error',
          LINTEL_ENV: 'test',
          AzureWebJobsStorage: connection,
          LINTEL_HOST_PORT: String(hostPort),
        }),
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((done) => child.on('close', done));
    const incoming = BlobServiceClient.fromConnectionString(connection)
      .getContainerClient(CONTAINERS.incoming)
      .getBlobClient(blobName);
    try {
      const status = await exited;
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toContain(`nothing listens on port ${hostPort}`);
      expect(stderr).toContain('is the local host (npm start) running?');
      expect(status).toBe(1);
    } finally {
      child.kill();
      await incoming.deleteIfExists();
    }
  }, 90_000);
});
