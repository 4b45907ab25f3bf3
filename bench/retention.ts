/**
 * `npm run bench:retention` — the memory one retention pass holds, at two sizes of the store.
 *
 * For each size (100,000 and 1,000,000 records by default) a fresh SQLite store is seeded straight
 * with the ISA's `multiple-disadvantage-indicators`: half as many people as records, each with a
 * Housing record (every other one in temporary accommodation) and a social-care record, an
 * identifier a record, the link between the two, a candidate link from every hundredth person
 * out of scope to one kept, an opt-out in force for another in a hundred, and Housing's and
 * social care's loaded runs. Then a fresh child process runs one pass of the agreement's rule, as
 * the timer does (enforceRetention, with the access log on its own thread), and reports its wall
 * time, the people and records it deleted, its peak RSS (getrusage maxrss) and its peak V8 heap
 * (sampled every 20 ms, so a short peak may be missed), each above what the child held before
 * the pass as well as in all. The child runs the compiled product (see fromBuild).
 *
 * Target: the larger size's peak RSS at most 1.25× the smaller's (the pass's memory is bounded
 * by its pages, not by the dataset). Below about 100,000 records a pass does not yet reach what
 * is bounded but not small: SQLite's page caches (16 MB each: the store's, the temporary tables',
 * the access log thread's) and the room V8 lets its heap grow to before a full collection (some
 * 70 MB here, over a pass's garbage: each page's parsed attributes, each access-log entry). So
 * 20,000 against 200,000 shows those filling (about 1.5×) more than the pass's own memory.
 *
 * Options: --sizes 100000,1000000   --keep (leave the temporary folder)
 */
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fromBuild } from './from-build.js';
import { parseOptions } from '../scripts/cli.js';

const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';
const HOUSING = 'la-housing';
const SOCIAL_CARE = 'la-childrens-social-care';
const AS_OF = '2026-11-01';

interface ChildResult {
  outcome: string;
  peopleDeleted: number;
  recordsDeleted: number;
  peopleHeld: number;
  seconds: number;
  /** Before the pass, and the most the pass reached (MB). */
  rssBeforeMb: number;
  peakRssMb: number;
  heapBeforeMb: number;
  peakHeapMb: number;
}

const database = () => fromBuild<typeof import('../shared/store/database.js')>('shared/store/database.js');

/** A child: one pass of the agreement's retention over the store at BENCH_SQLITE. */
async function child(): Promise<void> {
  const { openStore } = await database();
  const { createLogger } = await fromBuild<typeof import('../shared/logging.js')>('shared/logging.js');
  const { AccessLog } = await fromBuild<typeof import('../shared/audit/access-log.js')>('shared/audit/access-log.js');
  const { loadAgreements } =
    await fromBuild<typeof import('../shared/agreements/load.js')>('shared/agreements/load.js');
  const { enforceRetention } = await fromBuild<typeof import('../shared/retention/enforce-retention.js')>(
    'shared/retention/enforce-retention.js',
  );
  const store = openStore({ engine: 'sqlite', path: process.env.BENCH_SQLITE ?? '' });
  const logger = createLogger('warn');
  const accessLog = new AccessLog(store, logger);
  accessLog.warm();
  const agreements = loadAgreements(resolve('agreements'));
  // Settled as a host that is up would be: its threads started, its start-up garbage collected.
  await new Promise((r) => setTimeout(r, 1000));
  const mb = (bytes: number) => bytes / 1048576;
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 20);
  const started = process.hrtime.bigint();
  const [summary] = await enforceRetention({ store, agreements, accessLog, logger }, AGREEMENT);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  const result: ChildResult = {
    outcome: summary?.outcome ?? 'none',
    peopleDeleted: summary?.peopleDeleted ?? 0,
    recordsDeleted: summary?.recordsDeleted ?? 0,
    peopleHeld: summary?.peopleHeld ?? 0,
    seconds,
    rssBeforeMb: mb(before.rss),
    // Linux reports ru_maxrss in kilobytes.
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    heapBeforeMb: mb(before.heapUsed),
    peakHeapMb: mb(peakHeap),
  };
  await accessLog.close();
  await store.close();
  process.stdout.write(JSON.stringify(result) + '\n');
}

const hex = (text: string) => createHash('sha256').update(text).digest('hex');

/** The store at `path`, seeded with `records` records (see the header). */
async function seed(path: string, records: number): Promise<void> {
  const { openStore, migrateToLatest } = await database();
  const store = openStore({ engine: 'sqlite', path });
  await migrateToLatest(store);
  const now = new Date().toISOString();
  const runs: Record<string, string> = { [HOUSING]: randomUUID(), [SOCIAL_CARE]: randomUUID() };
  const people = Math.floor(records / 2);
  await store.db
    .insertInto('import_run')
    .values(
      Object.entries(runs).map(([party, id]) => ({
        id,
        party_id: party,
        dataset_id: DATASET,
        blob_name: `${party}/${DATASET}/bench.csv`,
        content_sha256: hex(id),
        status: 'loaded' as const,
        rows_total: people,
        rows_loaded: people,
        rows_rejected: 0,
        received_at: now,
        finished_at: now,
        as_of: AS_OF,
        uploaded_at: now,
      })),
    )
    .execute();
  const personId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  const recordId = (party: string, i: number) => `${party === HOUSING ? 'h' : 's'}-${String(i).padStart(12, '0')}`;
  const batch = 5_000;
  for (let start = 0; start < people; start += batch) {
    await store.db.transaction().execute(async (trx) => {
      const rows = [];
      const identifiers = [];
      const links = [];
      const consents = [];
      for (let i = start; i < Math.min(people, start + batch); i++) {
        const person = {
          firstName: `Jo${i}`,
          lastName: `Smith${i % 997}`,
          dateOfBirth: `20${String(i % 18).padStart(2, '0')}-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}`,
          homeAddress: `${i} High Street, Kettering`,
          homePostcode: 'NN16 0AA',
        };
        for (const party of [HOUSING, SOCIAL_CARE]) {
          const attributes =
            party === HOUSING
              ? {
                  ...person,
                  inTemporaryAccommodation: i % 2 === 0,
                  inRentArrears: i % 3 === 0,
                  atRiskOfEviction: false,
                }
              : { ...person, childProtection: i % 5 === 0, childInNeed: false, childInCare: false };
          rows.push({
            id: recordId(party, i),
            import_run_id: runs[party]!,
            party_id: party,
            dataset_id: DATASET,
            row_number: i + 2,
            given_name: `JO${i}`,
            family_name: `SMITH${i % 997}`,
            first3: 'JO',
            date_of_birth: person.dateOfBirth,
            postcode: person.homePostcode,
            address: person.homeAddress.toUpperCase(),
            attributes: JSON.stringify(attributes),
            as_of: AS_OF,
            person_id: personId(i),
          });
          identifiers.push({ record_id: recordId(party, i), kind: 'nhs', hash: hex(`nhs-${i}`), key_version: 'bench' });
        }
        const link = (a: string, b: string, status: 'auto' | 'candidate') => ({
          id: randomUUID(),
          agreement_id: AGREEMENT,
          source_a: `${HOUSING}/${DATASET}`,
          source_b: `${SOCIAL_CARE}/${DATASET}`,
          record_a: a,
          record_b: b,
          tier: status === 'auto' ? 1 : 5,
          rule: status === 'auto' ? 'nhs' : 'probabilistic',
          score: status === 'auto' ? null : 0.9,
          status,
          first_run_id: 'bench',
          last_run_id: 'bench',
          created_at: now,
        });
        links.push(link(recordId(HOUSING, i), recordId(SOCIAL_CARE, i), 'auto'));
        // Out of scope (odd), waiting for review against someone kept (even): kept.
        if (i % 100 === 1) links.push(link(recordId(HOUSING, i - 1), recordId(SOCIAL_CARE, i), 'candidate'));
        // Out of scope, with an opt-out in force: held.
        if (i % 100 === 3)
          consents.push({
            event_id: randomUUID(),
            consent_id: randomUUID(),
            subject_key: personId(i),
            kind: 'opt-out' as const,
            purpose_id: null,
            action: 'record' as const,
            party_id: HOUSING,
            client_id: 'bench',
            evidence_ref: null,
            at: now,
          });
      }
      for (let i = 0; i < rows.length; i += 500)
        await trx
          .insertInto('source_record')
          .values(rows.slice(i, i + 500))
          .execute();
      for (let i = 0; i < identifiers.length; i += 1000)
        await trx
          .insertInto('record_identifier')
          .values(identifiers.slice(i, i + 1000))
          .execute();
      for (let i = 0; i < links.length; i += 500)
        await trx
          .insertInto('record_link')
          .values(links.slice(i, i + 500))
          .execute();
      if (consents.length > 0) await trx.insertInto('consent_event').values(consents).execute();
    });
  }
  await store.close();
}

function runChild(path: string): Promise<ChildResult> {
  return new Promise((resolveRun, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'bench/retention.ts', '--child'], {
      env: { ...process.env, BENCH_SQLITE: path },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`retention child exited with ${code}`));
      resolveRun(JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildResult);
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseOptions('bench:retention', 'npm run bench:retention [-- [--sizes 100000,1000000] [--keep]]', {
    options: { child: { type: 'boolean' }, sizes: { type: 'string' }, keep: { type: 'boolean' } },
  });
  if (values.child) return child();
  const sizes = (values.sizes ?? '100000,1000000').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'lintel-bench-retention-'));
  const results: { size: number; result: ChildResult }[] = [];
  try {
    for (const size of sizes) {
      const path = join(dir, `store-${size}.db`);
      process.stdout.write(`seeding ${size.toLocaleString('en-GB')} records… `);
      await seed(path, size);
      process.stdout.write(`retention pass… (load average ${loadavg()[0]!.toFixed(2)})\n`);
      const result = await runChild(path);
      if (result.outcome !== 'enforced' || result.recordsDeleted === 0)
        throw new Error(`unexpected outcome ${JSON.stringify(result)}`);
      results.push({ size, result });
    }
  } finally {
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  }
  const pad = (value: string, width: number) => value.padStart(width);
  process.stdout.write(
    '\nrecords   people deleted  records deleted  held  seconds  heap MB (pass)  peak RSS MB (pass)\n',
  );
  for (const { size, result: r } of results) {
    process.stdout.write(
      `${String(size).padEnd(9)} ${pad(String(r.peopleDeleted), 14)} ${pad(String(r.recordsDeleted), 16)} ${pad(String(r.peopleHeld), 5)} ${pad(r.seconds.toFixed(2), 8)} ` +
        `${pad(`${r.peakHeapMb.toFixed(0)} (+${(r.peakHeapMb - r.heapBeforeMb).toFixed(0)})`, 15)} ${pad(`${r.peakRssMb.toFixed(0)} (+${(r.peakRssMb - r.rssBeforeMb).toFixed(0)})`, 19)}\n`,
    );
  }
  const [small, large] = results;
  if (small && large) {
    const ratio = (f: (r: ChildResult) => number) => (f(large.result) / f(small.result)).toFixed(2);
    process.stdout.write(
      `${large.size.toLocaleString('en-GB')} / ${small.size.toLocaleString('en-GB')}: peak RSS ${ratio((r) => r.peakRssMb)} (target ≤ 1.25), peak heap ${ratio((r) => r.peakHeapMb)}\n`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:retention failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
