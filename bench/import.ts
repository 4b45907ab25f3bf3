/**
 * `npm run bench:import` — partner imports end to end on the local stack (Azurite + SQLite).
 *
 * For each size (100,000 and 1,000,000 rows by default) a synthetic la-housing extract of the
 * multiple-disadvantage-indicators dataset (13 columns, NI/NHS/UPN identifiers, the 'typical'
 * error profile) is generated to disk and uploaded to `incoming/`. Then a fresh child process
 * runs the import exactly as the blob-triggered function does — hash pass, streaming parse,
 * validation, pseudonymisation, one-transaction snapshot load into a fresh SQLite store, report,
 * access-log entry, move to processed/ — and reports its wall time and peak RSS (getrusage
 * maxrss), so each size's memory figure is its own. The child first starts the threads a host
 * starts with its services (the access log's writer, a spare row worker: warmThreads), as the
 * file would land on a host that is up.
 *
 * Options: --sizes 100000,1000000   --keep (leave the temporary folder)
 *          --cpu-prof DIR (write a V8 CPU profile of each import child, and its threads, into DIR)
 *          --in-thread (prepare rows on the import's own thread, not on the row worker: for comparison)
 * Each size also prints where the import's wall time went, phase by phase (import-phases.ts).
 * BENCH_MEMLOG=1 also prints each child's peak rss/heap/external figures.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite } from '../local/azurite.js';
import { loadAgreements } from '../shared/agreements/load.js';
import { drawMembers, extractPlans, writeExtract } from '../shared/synthetic/extracts.js';
import { generatePopulation } from '../shared/synthetic/people.js';
import { ensureContainers } from '../shared/blob/blob-storage.js';
import { freePort } from '../local/free-port.js';
import { fromBuild } from './from-build.js';
import { parseOptions } from '../scripts/cli.js';

const PARTY = 'la-housing';
const DATASET = 'multiple-disadvantage-indicators';

interface ChildResult {
  rows: number;
  loaded: number;
  rejected: number;
  seconds: number;
  /** CPU seconds of the import's process (all its threads) during the import: less noisy than wall time on a shared machine. */
  cpuSeconds: number;
  peakRssMb: number;
  outcome: string;
  /** Milliseconds per phase of the import (shared/imports/import-phases.ts). */
  phases: [string, number][];
}

/** The import child runs the compiled product, as the Functions host does (see fromBuild). */
async function child(): Promise<void> {
  const { openStore, migrateToLatest } =
    await fromBuild<typeof import('../shared/store/database.js')>('shared/store/database.js');
  const { createLogger } = await fromBuild<typeof import('../shared/logging.js')>('shared/logging.js');
  const { importExtract } = await fromBuild<typeof import('../shared/imports/import-extract.js')>(
    'shared/imports/import-extract.js',
  );
  const { PhaseClock } = await fromBuild<typeof import('../shared/imports/import-phases.js')>(
    'shared/imports/import-phases.js',
  );
  const { AccessLog } = await fromBuild<typeof import('../shared/audit/access-log.js')>('shared/audit/access-log.js');
  const { LocalSecretSource } = await fromBuild<typeof import('../shared/secrets/local-secret-source.js')>(
    'shared/secrets/local-secret-source.js',
  );
  const built = await fromBuild<typeof import('../shared/agreements/load.js')>('shared/agreements/load.js');
  const env = (name: string) => process.env[name] ?? '';
  const store = openStore({ engine: 'sqlite', path: env('BENCH_SQLITE') });
  await migrateToLatest(store);
  const logger = createLogger('warn');
  const { warmRowWorker } = await fromBuild<typeof import('../shared/imports/row-worker-client.js')>(
    'shared/imports/row-worker-client.js',
  );
  const accessLog = new AccessLog(store, logger);
  // As on a host that is up when the file lands: it started these threads with its services
  // (warmThreads), and a file never lands in its first second.
  accessLog.warm();
  warmRowWorker();
  await new Promise((r) => setTimeout(r, 1000));
  const blobName = env('BENCH_BLOB');
  const [partyId = '', datasetId = '', fileName = ''] = blobName.split('/');
  const peaks = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    for (const k of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[k] = Math.max(peaks[k], m[k]);
  }, 250);
  const phases = new PhaseClock();
  const started = process.hrtime.bigint();
  const cpuStarted = process.cpuUsage();
  const outcome = await importExtract(
    {
      store,
      blobs: BlobServiceClient.fromConnectionString(env('BENCH_AZURITE')),
      agreements: built.loadAgreements(resolve('agreements')),
      secrets: new LocalSecretSource(env('BENCH_SECRETS')),
      logger,
      accessLog,
      maxBadRowShare: 0.05,
      hooks: { phases },
      ...(process.env.BENCH_IN_THREAD ? { rowWorkerMinBytes: Number.POSITIVE_INFINITY } : {}),
    },
    { blobName, partyId, datasetId, fileName },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStarted);
  clearInterval(sampler);
  if (process.env.BENCH_MEMLOG) {
    process.stderr.write(
      `memory peaks (MB): ${Object.entries(peaks)
        .map(([k, v]) => `${k} ${(v / 1048576).toFixed(0)}`)
        .join(', ')}\n`,
    );
  }
  const result: ChildResult = {
    outcome: outcome.outcome,
    rows: outcome.outcome === 'loaded' ? outcome.rows : 0,
    loaded: outcome.outcome === 'loaded' ? outcome.loaded : 0,
    rejected: outcome.outcome === 'loaded' ? outcome.rejected : 0,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    // Linux reports ru_maxrss in kilobytes.
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    phases: phases.totals(),
  };
  await store.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

async function generate(path: string, rows: number): Promise<number> {
  const agreements = loadAgreements(resolve('agreements'));
  const plan = extractPlans(agreements).find((p) => p.partyId === PARTY && p.datasetId === DATASET)!;
  const population = generatePopulation({ seed: 'bench-import', size: Math.ceil(rows * 1.1) });
  const members = drawMembers(population.size, rows, 'bench-import');
  const out = createWriteStream(path);
  const written = await writeExtract({
    population,
    plan,
    members,
    profile: 'typical',
    seed: 'bench-import',
    write: async (chunk) => {
      if (!out.write(chunk)) await once(out, 'drain');
    },
  });
  out.end();
  await once(out, 'finish');
  return written;
}

function runChild(env: Record<string, string>, cpuProfileDir: string | undefined): Promise<ChildResult> {
  const profile = cpuProfileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir];
  return new Promise((resolveRun, reject) => {
    const proc = spawn(process.execPath, [...profile, '--import', 'tsx', 'bench/import.ts', '--child'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`import child exited with ${code}`));
      resolveRun(JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult);
    });
  });
}

/** Each phase's seconds and share of the import's wall time, biggest first. */
function phaseTable(result: ChildResult): string {
  const lines = [...result.phases]
    .sort((a, b) => b[1] - a[1])
    .filter(([, ms]) => ms >= 1)
    .map(
      ([phase, ms]) =>
        `    ${phase.padEnd(24)} ${(ms / 1000).toFixed(2).padStart(7)} s ${((ms / 10 / result.seconds).toFixed(1) + '%').padStart(7)}\n`,
    );
  return lines.join('');
}

async function main(): Promise<void> {
  const { values } = parseOptions(
    'bench:import',
    'npm run bench:import [-- [--sizes 100000,1000000] [--keep] [--cpu-prof DIR] [--in-thread]]',
    {
      options: {
        child: { type: 'boolean' },
        sizes: { type: 'string' },
        keep: { type: 'boolean' },
        'cpu-prof': { type: 'string' },
        'in-thread': { type: 'boolean' },
      },
    },
  );
  if (values.child) return child();
  const sizes = (values.sizes ?? '100000,1000000').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'lintel-bench-import-'));
  const azurite = await startAzurite({ port: await freePort(), location: join(dir, 'azurite') });
  const results: { size: number; bytes: number; result: ChildResult }[] = [];
  try {
    const blobs = BlobServiceClient.fromConnectionString(azurite.connectionString);
    await ensureContainers(blobs);
    for (const size of sizes) {
      const file = join(dir, `extract-${size}.csv`);
      process.stdout.write(`generating ${size.toLocaleString('en-GB')} rows… `);
      const rows = await generate(file, size);
      const bytes = statSync(file).size;
      process.stdout.write(`${(bytes / 1024 / 1024).toFixed(1)} MB; uploading… `);
      const blobName = `${PARTY}/${DATASET}/bench-${size}.csv`;
      await blobs
        .getContainerClient('incoming')
        .getBlockBlobClient(blobName)
        .uploadStream(createReadStream(file), 8 * 1024 * 1024, 4);
      // Generating and uploading wrote some 150 MB per 1M rows (the file, Azurite's copy) and the
      // size before wrote its store: flushed now, their writeback does not land in the import's
      // time (on this machine it made the same import up to half as fast again).
      spawnSync('sync');
      process.stdout.write(`importing… (load average ${loadavg()[0]!.toFixed(2)})\n`);
      const result = await runChild(
        {
          BENCH_SQLITE: join(dir, `store-${size}.db`),
          BENCH_SECRETS: join(dir, 'secrets.json'),
          BENCH_AZURITE: azurite.connectionString,
          BENCH_BLOB: blobName,
          ...(values['in-thread'] ? { BENCH_IN_THREAD: '1' } : {}),
        },
        values['cpu-prof'],
      );
      if (result.outcome !== 'loaded' || result.rows !== rows)
        throw new Error(`unexpected outcome ${JSON.stringify(result)}`);
      results.push({ size, bytes, result });
      process.stdout.write(
        `  ${size.toLocaleString('en-GB')} rows: ${result.seconds.toFixed(2)} s (CPU ${result.cpuSeconds.toFixed(1)} s), ${Math.round(result.rows / result.seconds).toLocaleString('en-GB')} rows/s, ` +
          `${result.loaded.toLocaleString('en-GB')} loaded, ${result.rejected} rejected, peak RSS ${result.peakRssMb.toFixed(0)} MB; load average ${loadavg()[0]!.toFixed(2)}\n`,
      );
      process.stdout.write(phaseTable(result));
    }
  } finally {
    await azurite.stop();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write('\nsize        MB    seconds   CPU s   rows/s    peak RSS MB\n');
  for (const { size, bytes, result } of results) {
    process.stdout.write(
      `${String(size).padEnd(10)} ${(bytes / 1024 / 1024).toFixed(1).padStart(6)} ${result.seconds.toFixed(2).padStart(9)} ${result.cpuSeconds.toFixed(1).padStart(7)} ${String(Math.round(result.rows / result.seconds)).padStart(8)} ${result.peakRssMb.toFixed(0).padStart(12)}\n`,
    );
  }
  const [small, large] = results;
  if (small && large) {
    const ratio = large.result.peakRssMb / small.result.peakRssMb;
    process.stdout.write(
      `peak RSS ${large.size.toLocaleString('en-GB')} / ${small.size.toLocaleString('en-GB')}: ${ratio.toFixed(2)} (target ≤ 1.25)\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:import failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
