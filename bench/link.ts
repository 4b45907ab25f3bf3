/**
 * `npm run bench:link` — the linkage engine on synthetic people:
 *   (a) precision / recall / F1 per tier on the 'clean', 'typical' and 'hard' profiles;
 *   (b) deterministic tiers 1–4 on 1,000,000 x 1,000,000 records, timed against the same rules
 *       (residual cascade, ambiguity exclusion, hard-identifier and date guards) written as
 *       DuckDB SQL over the same canonical records, with a check that both find the same pairs;
 *   (c) tier 5 (blocking, EM, scoring) on 100,000 x 100,000, timed.
 *   (d) linking in the store (shared/linkage): two sources of the ISA dataset in SQLite, the
 *       first incremental pass, a new snapshot of one source and the pass after it, and a full
 *       rerun, timed, with the pairwise precision and recall of the resulting people.
 * Prints peak RSS. Options:
 *   --parts a,b,c,d   --quality-size 20000   --deterministic-size 1000000   --probabilistic-size 100000
 *   --store-size 100000
 */

import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { DuckDBInstance } from '@duckdb/node-api';
import { Pseudonymiser } from '../shared/domain/pseudonymise.js';
import { canonicaliseColumns } from '../shared/matching/canonicalise.js';
import { linkDeterministic } from '../shared/matching/deterministic.js';
import type { DeterministicLinks } from '../shared/matching/deterministic.js';
import { evaluatePairs, formatEvaluation } from '../shared/matching/evaluate.js';
import { linkBatches, predictedPairs } from '../shared/matching/link.js';
import { linkProbabilistic } from '../shared/matching/probabilistic.js';
import type { RecordBatch } from '../shared/matching/record.js';
import { sharedSystemNames } from '../shared/matching/record.js';
import type { ErrorProfileName } from '../shared/synthetic/error-profiles.js';
import { generateLinkageScenario } from '../shared/synthetic/sources.js';
import { loadAgreements } from '../shared/agreements/load.js';
import { SnapshotWriter } from '../shared/imports/snapshot-writer.js';
import { linkPeople } from '../shared/linkage/link-people.js';
import { createLogger } from '../shared/logging.js';
import { LocalSecretSource } from '../shared/secrets/local-secret-source.js';
import { migrateToLatest, openStore } from '../shared/store/database.js';
import { parseOptions } from '../scripts/cli.js';

const { values } = parseOptions(
  'bench:link',
  'npm run bench:link [-- [--parts a,b,c,d] [--store-size 100000] [--quality-size 20000] [--deterministic-size 1000000] [--probabilistic-size 100000]]',
  {
    options: {
      parts: { type: 'string', default: 'a,b,c,d' },
      'store-size': { type: 'string', default: '100000' },
      'quality-size': { type: 'string', default: '20000' },
      'deterministic-size': { type: 'string', default: '1000000' },
      'probabilistic-size': { type: 'string', default: '100000' },
    },
  },
);

// A million-by-a-million run holds two canonical batches and a population: give V8 room.
const HEAP_MB = 12_288;
if (getHeapStatistics().heap_size_limit < 8_000 * 1024 * 1024 && process.env.LINTEL_BENCH_CHILD !== '1') {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, `--max-old-space-size=${HEAP_MB}`, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, LINTEL_BENCH_CHILD: '1' },
    },
  );
  process.exit(child.status ?? 1);
}

const parts = new Set(values.parts.split(','));
const pseudonymiser = new Pseudonymiser({ keyVersion: 'bench', key: Buffer.alloc(32, 0x5a) });
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
/** CPU time of the whole process, all threads (DuckDB's workers included). */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);

function scenario(
  size: number,
  profile: ErrorProfileName,
  seed: number,
): {
  left: RecordBatch;
  right: RecordBatch;
  leftPerson: Int32Array;
  rightPerson: Int32Array;
  generateMs: number;
} {
  let t = performance.now();
  const s = generateLinkageScenario({ seed, profile, leftSize: size });
  const generateMs = performance.now() - t;
  t = performance.now();
  const left = canonicaliseColumns(s.left, pseudonymiser).batch;
  const right = canonicaliseColumns(s.right, pseudonymiser).batch;
  log(
    `  generated ${size} x ${size} '${profile}' in ${seconds(generateMs)}, canonicalised in ${seconds(performance.now() - t)}`,
  );
  return { left, right, leftPerson: s.left.personIndex, rightPerson: s.right.personIndex, generateMs };
}

// ---------------------------------------------------------------------------------------------
// (a) quality per profile
// ---------------------------------------------------------------------------------------------

if (parts.has('a')) {
  const size = Number(values['quality-size']);
  for (const profile of ['clean', 'typical', 'hard'] as const) {
    log(`\n(a) quality, profile '${profile}', ${size} x ${size}`);
    const s = scenario(size, profile, 20_250 + size);
    const t = performance.now();
    const result = linkBatches(s.left, s.right);
    log(`  linked in ${seconds(performance.now() - t)}; load average ${loadavg()[0]?.toFixed(1) ?? '?'}`);
    log(formatEvaluation(evaluatePairs(predictedPairs(result), s.leftPerson, s.rightPerson)).replace(/^/gm, '  '));
  }
}

// ---------------------------------------------------------------------------------------------
// (b) deterministic tiers against DuckDB
// ---------------------------------------------------------------------------------------------

async function writeBatchCsv(path: string, batch: RecordBatch, systems: readonly string[]): Promise<void> {
  const out = createWriteStream(path);
  const write = async (line: string): Promise<void> => {
    if (!out.write(line)) await once(out, 'drain');
  };
  await write(
    `idx,nhs,upn,ni,${systems.map((_, k) => `sys${k}`).join(',')}${systems.length > 0 ? ',' : ''}given,family,dob,postcode\n`,
  );
  const columns = systems.map((s) => batch.systemIds.get(s));
  // Normalised names and canonical values hold no commas or quotes; hashes are hex.
  for (let i = 0; i < batch.size; i++) {
    let line = `${i},${batch.nhsHash[i]},${batch.upnHash[i]},${batch.niHash[i]},`;
    for (const c of columns) line += `${c?.[i] ?? ''},`;
    line += `${batch.givenName[i]},${batch.familyName[i]},${batch.dob[i]},${batch.postcode[i]}\n`;
    await write(line);
  }
  out.end();
  await once(out, 'finish');
}

/** The deterministic rules as SQL statements, in the engine's order, each over the residue. */
function deterministicSql(systems: readonly string[], sharedSystems: readonly number[]): string[] {
  const differ = (a: string, b: string): string => `(${a} IS NOT NULL AND ${b} IS NOT NULL AND ${a} <> ${b})`;
  const conflict = [
    differ('L.nhs', 'R.nhs'),
    differ('L.upn', 'R.upn'),
    ...sharedSystems.map((k) => differ(`L.sys${k}`, `R.sys${k}`)),
  ].join(' OR ');
  const dobsClearlyDiffer =
    `(L.dob IS NOT NULL AND R.dob IS NOT NULL AND L.dob <> R.dob` +
    ` AND NOT (substr(L.dob,1,4) = substr(R.dob,1,4) AND substr(L.dob,6,2) = substr(R.dob,9,2) AND substr(L.dob,9,2) = substr(R.dob,6,2))` +
    ` AND hamming(L.dob, R.dob) > 1)`;
  const first3 = (t: string): string => `nullif(substr(replace(${t}.given, ' ', ''), 1, 3), '')`;
  const rule = (tier: number, name: string, keys: (t: string) => string[], dobGuard: boolean): string => {
    const keyCols = (t: string): string =>
      keys(t)
        .map((k, n) => `${k} AS k${n}`)
        .join(', ');
    const notNull = (t: string): string =>
      keys(t)
        .map((k) => `${k} IS NOT NULL`)
        .join(' AND ');
    const names = keys('X')
      .map((_, n) => `k${n}`)
      .join(', ');
    return `INSERT INTO links
      WITH lk AS (SELECT ${names}, min(idx) AS idx, count(*) AS n FROM (
              SELECT ${keyCols('L')}, L.idx FROM L WHERE ${notNull('L')} AND NOT EXISTS (SELECT 1 FROM links WHERE links.l = L.idx))
            GROUP BY ${names}),
           rk AS (SELECT ${names}, min(idx) AS idx, count(*) AS n FROM (
              SELECT ${keyCols('R')}, R.idx FROM R WHERE ${notNull('R')} AND NOT EXISTS (SELECT 1 FROM links WHERE links.r = R.idx))
            GROUP BY ${names})
      SELECT lk.idx, rk.idx, ${tier}, '${name}'
      FROM lk JOIN rk USING (${names}) JOIN L ON L.idx = lk.idx JOIN R ON R.idx = rk.idx
      WHERE lk.n = 1 AND rk.n = 1 AND NOT (${conflict})${dobGuard ? ` AND NOT ${dobsClearlyDiffer}` : ''}`;
  };
  return [
    rule(1, 'nhs', (t) => [`${t}.nhs`], false),
    rule(1, 'upn', (t) => [`${t}.upn`], false),
    ...sharedSystems.map((k) => rule(2, `system:${systems[k] ?? ''}`, (t) => [`${t}.sys${k}`], false)),
    rule(2, 'ni', (t) => [`${t}.ni`], false),
    rule(3, 'dob-name', (t) => [`${t}.dob`, `${t}.family`, first3(t)], false),
    rule(4, 'postcode-name', (t) => [`${t}.postcode`, `${t}.family`, first3(t)], true),
  ];
}

function checksum(d: DeterministicLinks): number {
  let sum = 0;
  for (let k = 0; k < d.count; k++) sum += ((d.left[k] as number) * 1_000_003 + (d.right[k] as number)) % 1_000_000_007;
  return sum;
}

if (parts.has('b')) {
  const size = Number(values['deterministic-size']);
  log(`\n(b) deterministic tiers 1-4, ${size} x ${size} ('typical' profile)`);
  const s = scenario(size, 'typical', 1_000_000 + size);
  const systems = sharedSystemNames(s.left, s.right);
  const sharedSystems = systems.flatMap((name, k) =>
    s.left.systemIds.has(name) && s.right.systemIds.has(name) ? [k] : [],
  );

  const dir = mkdtempSync(join(tmpdir(), 'lintel-bench-link-'));
  try {
    await writeBatchCsv(join(dir, 'left.csv'), s.left, systems);
    await writeBatchCsv(join(dir, 'right.csv'), s.right, systems);
    const duck = await DuckDBInstance.create(':memory:');
    const connection = await duck.connect();
    const types = `{'idx': 'INTEGER', 'nhs': 'VARCHAR', 'upn': 'VARCHAR', 'ni': 'VARCHAR', ${systems.map((_, k) => `'sys${k}': 'VARCHAR', `).join('')}'given': 'VARCHAR', 'family': 'VARCHAR', 'dob': 'VARCHAR', 'postcode': 'VARCHAR'}`;
    for (const [table, file] of [
      ['L', 'left.csv'],
      ['R', 'right.csv'],
    ] as const) {
      await connection.run(
        `CREATE TABLE ${table} AS SELECT * FROM read_csv('${join(dir, file)}', header = true, nullstr = '', columns = ${types})`,
      );
    }
    const threads = (await connection.runAndReadAll(`SELECT current_setting('threads')`)).getRowsJS()[0]?.[0];
    log(
      `  both loaded; DuckDB runs on ${String(threads)} threads, lintel on one; load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')}`,
    );

    // Runs alternate, so that load from anything else on the machine falls on both alike.
    const lintelMs: number[] = [];
    const duckMs: number[] = [];
    const lintelCpuMs: number[] = [];
    const duckCpuMs: number[] = [];
    let links: DeterministicLinks | null = null;
    let duckCount = 0;
    let duckChecksum = 0;
    for (let run = 0; run < 3; run++) {
      let t = performance.now();
      let c = cpuMs();
      links = linkDeterministic(s.left, s.right);
      lintelMs.push(performance.now() - t);
      lintelCpuMs.push(cpuMs() - c);
      await connection.run('DROP TABLE IF EXISTS links');
      await connection.run('CREATE TABLE links (l INTEGER, r INTEGER, tier UTINYINT, rule VARCHAR)');
      t = performance.now();
      c = cpuMs();
      for (const sql of deterministicSql(systems, sharedSystems)) await connection.run(sql);
      duckMs.push(performance.now() - t);
      duckCpuMs.push(cpuMs() - c);
      const row = (
        await connection.runAndReadAll(`SELECT count(*), sum((l::BIGINT * 1000003 + r) % 1000000007) FROM links`)
      ).getRowsJS()[0];
      duckCount = Number(row?.[0] ?? 0);
      duckChecksum = Number(row?.[1] ?? 0);
    }
    connection.closeSync();
    if (links === null) throw new Error('no run');
    const perRule = links.rules.map((r) => `${r.rule} ${r.linked}`).join(', ');
    log(
      `  lintel: ${lintelMs.map(seconds).join(', ')} (CPU ${lintelCpuMs.map(seconds).join(', ')}); ${links.count} links (${perRule})`,
    );
    log(`  DuckDB: ${duckMs.map(seconds).join(', ')} (CPU ${duckCpuMs.map(seconds).join(', ')}); ${duckCount} links`);
    const same = duckCount === links.count && duckChecksum === checksum(links);
    log(`  same pairs in both: ${same ? 'yes' : 'NO'}`);
    const e = evaluatePairs(
      { count: links.count, left: links.left, right: links.right, tier: links.tier },
      s.leftPerson,
      s.rightPerson,
    );
    log(
      `  tiers 1-4 precision ${(e.automatic.precision * 100).toFixed(3)}%, recall ${(e.automatic.recall * 100).toFixed(2)}%`,
    );
    const best = (xs: number[]): number => Math.min(...xs);
    log(
      `  best of 3: lintel ${seconds(best(lintelMs))}, DuckDB ${seconds(best(duckMs))}, ratio lintel/DuckDB ${(best(lintelMs) / best(duckMs)).toFixed(2)} (target <= 1)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// (c) tier 5 at scale
// ---------------------------------------------------------------------------------------------

if (parts.has('c')) {
  const size = Number(values['probabilistic-size']);
  log(`\n(c) tier 5, ${size} x ${size} ('hard' profile)`);
  const s = scenario(size, 'hard', 500_000 + size);
  let t = performance.now();
  const deterministic = linkDeterministic(s.left, s.right);
  const deterministicMs = performance.now() - t;
  t = performance.now();
  const cpuBefore = cpuMs();
  const candidates = linkProbabilistic(s.left, s.right, deterministic.linkedLeft, deterministic.linkedRight);
  const tier5Ms = performance.now() - t;
  const tier5CpuMs = cpuMs() - cpuBefore;
  log(
    `  tiers 1-4 ${seconds(deterministicMs)}; tier 5 ${seconds(tier5Ms)} (CPU ${seconds(tier5CpuMs)}; target < 60 s): ${candidates.trainingPairs} training pairs, ${candidates.scoredPairs} scored, ${candidates.count} candidates`,
  );
  const result = { deterministic, candidates };
  log(formatEvaluation(evaluatePairs(predictedPairs(result), s.leftPerson, s.rightPerson)).replace(/^/gm, '  '));
}

// ---------------------------------------------------------------------------------------------
// (d) linking in the store
// ---------------------------------------------------------------------------------------------

if (parts.has('d')) {
  const size = Number(values['store-size']);
  log(`\n(d) linking in the store (SQLite), ${size} x ${size} ('hard' profile)`);
  const s = scenario(size, 'hard', 700_000 + size);
  const dir = mkdtempSync(join(tmpdir(), 'lintel-bench-linkage-'));
  const store = openStore({ engine: 'sqlite', path: join(dir, 'lintel.db') });
  await migrateToLatest(store);
  const secrets = new LocalSecretSource(join(dir, 'secrets.json'));
  const keyVersion = (await secrets.get('pseudonymisation-key')).version;
  const deps = { store, secrets, agreements: loadAgreements('agreements'), logger: createLogger('error') };
  const DATASET = 'multiple-disadvantage-indicators';
  // The generator names the systems; the ISA names the fields they fill.
  const kindOf = (system: string) =>
    `system-id:${system === 'mosaic' ? 'social-care' : system === 'capita-one' ? 'education' : system}`;
  const load = async (batch: RecordBatch, partyId: string, runId: string) => {
    await store.db.transaction().execute(async (trx) => {
      const writer = new SnapshotWriter(trx, store, {
        runId,
        partyId,
        datasetId: DATASET,
        asOf: '2026-11-01',
        keyVersion,
      });
      await writer.deletePrevious();
      for (let i = 0; i < batch.size; i++) {
        const id = `${runId}:${String(i).padStart(10, '0')}`;
        const given = batch.givenName[i] || null;
        writer.addRecord([
          id,
          i + 2,
          given,
          batch.familyName[i] || null,
          given?.slice(0, 3) ?? null,
          batch.dob[i] || null,
          batch.postcode[i] || null,
          batch.address[i] || null,
          '{}',
        ]);
        for (const [kind, column] of [
          ['nhs', batch.nhsHash],
          ['upn', batch.upnHash],
          ['ni', batch.niHash],
        ] as const) {
          if (column[i]) writer.addIdentifier([id, kind, column[i]!]);
        }
        for (const [system, column] of batch.systemIds)
          if (column[i]) writer.addIdentifier([id, kindOf(system), column[i]!]);
        await writer.flush();
      }
      await writer.finish();
    });
  };
  let t = performance.now();
  await load(s.left, 'la-housing', 'left-1');
  await load(s.right, 'la-childrens-social-care', 'right-1');
  log(`  loaded both sources in ${seconds(performance.now() - t)}`);

  const quality = async () => {
    const rows = await store.db
      .selectFrom('source_record')
      .select(['import_run_id', 'row_number', 'person_id'])
      .execute();
    const people = new Map<string, { left: number[]; right: number[] }>();
    for (const r of rows) {
      const p = people.get(r.person_id!) ?? { left: [], right: [] };
      people.set(r.person_id!, p);
      (r.import_run_id.startsWith('left') ? p.left : p.right).push(r.row_number - 2);
    }
    let predicted = 0;
    let correct = 0;
    for (const p of people.values()) {
      for (const i of p.left) {
        for (const j of p.right) {
          predicted++;
          if (s.leftPerson[i] === s.rightPerson[j]) correct++;
        }
      }
    }
    const rightOf = new Map<number, number>();
    for (let j = 0; j < s.right.size; j++) rightOf.set(s.rightPerson[j]!, (rightOf.get(s.rightPerson[j]!) ?? 0) + 1);
    let truePairs = 0;
    for (let i = 0; i < s.left.size; i++) truePairs += rightOf.get(s.leftPerson[i]!) ?? 0;
    return `people: pairwise precision ${(correct / predicted).toFixed(5)}, recall ${(correct / truePairs).toFixed(4)} before review`;
  };
  const pass = async (label: string, kind: 'incremental' | 'full') => {
    const started = performance.now();
    const summary = await linkPeople(deps, 'social-care-education-housing', kind);
    const tiers = Object.entries(summary.linksByTier)
      .map(([tier, n]) => `t${tier} ${n}`)
      .join(', ');
    log(
      `  ${label}: ${seconds(performance.now() - started)} (${summary.sourcePairsLinked} source pairs; links ${tiers}; ${summary.candidates + summary.candidatesConfirmedEarlier} candidates; ${summary.people} people; ${summary.personIdsChanged} person ids changed); load average ${loadavg()[0]?.toFixed(1) ?? '?'}`,
    );
  };
  await pass('first pass after both imports', 'incremental');
  log(`  ${await quality()}`);
  t = performance.now();
  await load(s.right, 'la-childrens-social-care', 'right-2');
  log(`  next snapshot of one source loaded in ${seconds(performance.now() - t)}`);
  await pass('pass after the new snapshot', 'incremental');
  await pass('full rerun', 'full');
  log(`  ${await quality()}`);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
log(`\npeak RSS ${(Math.max(peakRss, process.resourceUsage().maxRSS * 1024) / 1024 / 1024).toFixed(0)} MB`);
