import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { makeFolder } from '../shared/make-folder.js';

/** Azurite's published development account; not a secret. */
const ACCOUNT = 'devstoreaccount1';
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export function azuriteConnectionString(port: number): string {
  return `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${ACCOUNT_KEY};BlobEndpoint=http://127.0.0.1:${port}/${ACCOUNT};`;
}

export interface RunningAzurite {
  port: number;
  connectionString: string;
  pid: number;
  stop(): Promise<void>;
}

export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolveInUse) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveInUse(true);
    });
    socket.once('error', () => resolveInUse(false));
  });
}

/**
 * Start Azurite's blob service as a child process. Its own script is run with node directly,
 * not through npx or the .bin shim, so the pid we hold is Azurite's and SIGINT reaches it.
 */
export async function startAzurite(options: {
  port: number;
  location: string;
  timeoutMs?: number;
}): Promise<RunningAzurite> {
  if (await portInUse(options.port)) {
    throw new Error(
      `Port ${options.port} is already in use; stop the other Azurite, set AZURITE_BLOB_PORT to a free port, or set AzureWebJobsStorage to the running one`,
    );
  }
  makeFolder(options.location);
  const require = createRequire(import.meta.url);
  const script = join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      script,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(options.port),
      '--location',
      options.location,
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--silent',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  // However this process ends (an uncaught error, process.exit before stop()), Azurite goes
  // with it rather than holding its port under init. Nothing asynchronous can run on 'exit',
  // so it is only told: SIGINT lets it save its state and stop on its own.
  const stopWithUs = () => child.kill('SIGINT');
  process.once('exit', stopWithUs);
  void exited.then(() => process.off('exit', stopWithUs));

  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (!(await portInUse(options.port))) {
    if (child.exitCode !== null) throw new Error(`Azurite exited during start-up: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('Azurite did not start in time');
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    port: options.port,
    connectionString: azuriteConnectionString(options.port),
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}
