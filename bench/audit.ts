/**
 * `npm run bench:audit` — append N access-log entries through the real writer (group commit on
 * SQLite, synchronous=FULL) with many concurrent callers, then verify the whole log from the
 * store in one streaming pass. Prints entries/s for both and peak RSS.
 *
 *   npm run bench:audit -- --entries 1000000 --concurrency 256
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLog, type AccessLogRecord } from '../shared/audit/access-log.js';
import { verifyAccessLog } from '../shared/audit/verify-log.js';
import { createLogger } from '../shared/logging.js';
import { migrateToLatest, openStore } from '../shared/store/database.js';
import { parseOptions } from '../scripts/cli.js';

const { values } = parseOptions('bench:audit', 'npm run bench:audit [-- [--entries 1000000] [--concurrency 256]]', {
  options: { entries: { type: 'string', default: '1000000' }, concurrency: { type: 'string', default: '256' } },
});
const total = Number(values.entries);
const concurrency = Number(values.concurrency);

const dir = mkdtempSync(join(tmpdir(), 'lintel-bench-audit-'));
const store = openStore({ engine: 'sqlite', path: join(dir, 'audit.db') });
await migrateToLatest(store);
const log = new AccessLog(store, createLogger('error'));

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const record = (i: number): AccessLogRecord => ({
  requestId: `bench-${i}`,
  partyId: i % 3 === 0 ? 'kettering-borough-council' : 'keyways-registered-providers',
  clientId: `dev-client-${i % 11}`,
  roles: ['housing-officer'],
  purpose: 'housing-allocation',
  action: 'person.search',
  subjectRef: `person-${i % 50_000}`,
  datasets: ['keyways-housing-register'],
  fields: [
    'keyways-housing-register.firstName',
    'keyways-housing-register.lastName',
    'keyways-housing-register.address',
  ],
  decision: i % 10 === 0 ? 'deny' : 'allow',
  reasonCode: i % 10 === 0 ? 'no-match' : 'granted',
});

let next = 0;
const appendCpu = process.cpuUsage();
const appendStarted = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < total) await log.append(record(next++));
  }),
);
const appendSeconds = (performance.now() - appendStarted) / 1000;
const appendCpuSeconds = cpuSeconds(process.cpuUsage(appendCpu));

const verifyCpu = process.cpuUsage();
const verifyStarted = performance.now();
const report = await verifyAccessLog(store, [], new Map());
const verifySeconds = (performance.now() - verifyStarted) / 1000;
const verifyCpuSeconds = cpuSeconds(process.cpuUsage(verifyCpu));
clearInterval(sampler);
await store.close();
rmSync(dir, { recursive: true, force: true });

const fmt = (n: number) => Math.round(n).toLocaleString('en-GB');
/** CPU time of this process: on a shared machine it says more than wall time, which other load stretches. */
function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6;
}
console.log(
  `access log benchmark: ${fmt(total)} entries, ${concurrency} concurrent writers, SQLite (WAL, synchronous=FULL)`,
);
console.log(
  `append : ${appendSeconds.toFixed(2)} s  ${fmt(total / appendSeconds)} entries/s  (cpu ${appendCpuSeconds.toFixed(2)} s)`,
);
console.log(
  `verify : ${verifySeconds.toFixed(2)} s  ${fmt(report.entries / verifySeconds)} entries/s  (cpu ${verifyCpuSeconds.toFixed(2)} s; ${report.ok ? 'intact' : 'FAILED'}, root ${report.rootHash.slice(0, 16)}…)`,
);
console.log(`load average (1 min) at the end: ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} cores`);
console.log(`peak RSS: ${(peakRss / 1024 / 1024).toFixed(0)} MiB`);
console.log(
  `target verify ≥ 1,000,000 entries in < 10 s: ${report.entries >= 1_000_000 && verifySeconds < 10 ? 'met' : report.entries < 1_000_000 ? 'not measured at 1M' : 'NOT met'}`,
);
if (!report.ok) process.exitCode = 1;
