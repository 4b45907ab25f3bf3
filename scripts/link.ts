/**
 * Links two partner CSV files by the matching engine's standard tiers (not an agreement's own: README) and writes every predicted pair.
 *
 *   npm run link -- --left A.csv --right B.csv --map map.json --out pairs.csv
 *                   [--truth truth.csv] [--key <hex>] [--review-threshold 0.02] [--no-probabilistic]
 *
 * map.json maps each file's columns to canonical fields:
 *   { "left":  { "sourceId": "housing", "columns": { "recordId": "id", "givenName": "forename",
 *                "familyName": "surname", "dob": "date_of_birth", "postcode": "postcode",
 *                "address": "address", "nhsNumber": "nhs_number", "upn": "upn",
 *                "niNumber": "ni_number", "systemIds": [{ "system": "mosaic", "column": "mosaic_id" }] } },
 *     "right": { ... } }
 * Every column is optional. Without recordId a record's id is its row number (header = row 1), as
 * for the partner extracts the agreements define, which carry none: the CLI says so when it runs.
 * Dates are read as an import reads them: ISO or day first (DD/MM/YYYY), a midnight time
 * allowed; a placeholder date of birth (1900-01-01 and the like), a future one or one before
 * anyone living (bounded by today, as a lookup is: a file carries no extract date) is dropped and
 * counted, as an invalid value is. examples/link/ holds a map for two of the demo seed's extracts
 * (README: "Calling the API locally").
 *
 * --truth takes any of three layouts, told apart by its header:
 *   left_id,right_id                      the true pairs;
 *   [source_id,]record_id,person_id       the person behind each record of either file
 *                                         (source_id only needed when the files share ids);
 *   file,row,person[,...]                 the person behind each row of named files: the demo
 *                                         seed's truth.csv, whose file column is the path below
 *                                         .lintel/seed/ (rows of other files are passed over).
 *
 * Identifiers are pseudonymised with HMAC-SHA-256 under --key (at least 32 bytes, hex), or under
 * a random key for this run only. Output columns: left_id,right_id,tier,rule,weight,probability;
 * tiers 1–4 are automatic links, tier 5 are candidates for an officer to review.
 * No personal data is printed: counts, codes and rates only.
 */

import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseOptions, refuseUsage, requireFile } from './cli.js';
import { Pseudonymiser } from '../shared/domain/pseudonymise.js';
import { formatEvaluation } from '../shared/matching/evaluate.js';
import { ColumnMapSchema, LinkFileError, linkCsvFiles } from '../shared/matching/link-files.js';

const USAGE =
  'npm run link -- --left A.csv --right B.csv --map map.json --out pairs.csv [--truth truth.csv] [--key <hex>] [--review-threshold p] [--no-probabilistic]';

function usage(problem: string): never {
  return refuseUsage('link', problem, USAGE);
}

async function main(): Promise<void> {
  const { values } = parseOptions('link', USAGE, {
    options: {
      left: { type: 'string' },
      right: { type: 'string' },
      map: { type: 'string' },
      out: { type: 'string' },
      truth: { type: 'string' },
      key: { type: 'string' },
      'review-threshold': { type: 'string' },
      'no-probabilistic': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.left === undefined || values.right === undefined || values.map === undefined || values.out === undefined) {
    usage('--left, --right, --map and --out are required');
  }
  // Before the key's notice and any reading: the README's command run before any seeding passes
  // the shell's unexpanded `extract-*.csv`, which a stream read answered with a stack trace.
  for (const option of ['left', 'right', 'map', 'truth'] as const) {
    const file = values[option];
    if (file !== undefined) requireFile('link', file, `--${option}`);
  }
  // The pairs are written last: into a folder that is not there, the whole run failed at its end
  // as "link failed: Error (ENOENT)", naming no option.
  if (statSync(dirname(resolve(values.out)), { throwIfNoEntry: false })?.isDirectory() !== true)
    usage(`no folder ${dirname(values.out)} for --out`);
  // A folder given as --out (`.lintel`) failed the same way, as "link failed: Error (EISDIR)".
  if (statSync(resolve(values.out), { throwIfNoEntry: false })?.isDirectory() === true)
    usage(`--out ${values.out} is a folder, not a file`);
  let key: Buffer;
  if (values.key !== undefined) {
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(values.key)) usage('--key must be hex');
    key = Buffer.from(values.key, 'hex');
    if (key.length < 32) usage('--key must be at least 32 bytes (64 hex characters)');
  } else {
    key = randomBytes(32);
    process.stderr.write('no --key given: pseudonymising under a random key for this run only\n');
  }
  const given = values['review-threshold'];
  // Number('') is 0: an empty value (an unset shell variable) is refused, not read as 0.
  const threshold = given === undefined ? undefined : given.trim() === '' ? NaN : Number(given);
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 1))
    usage('--review-threshold must be a number between 0 and 1');

  let mapJson: unknown;
  try {
    mapJson = JSON.parse(await readFile(values.map, 'utf8'));
  } catch (err) {
    // The parser's message quotes the file, which given in the map's place may be a partner's rows.
    if (!(err instanceof SyntaxError)) throw err;
    usage(`--map ${values.map} is not JSON`);
  }
  const mapResult = ColumnMapSchema.safeParse(mapJson);
  if (!mapResult.success) usage(`map file invalid: ${mapResult.error.issues.map((i) => i.path.join('.')).join(', ')}`);

  const started = performance.now();
  const outcome = await linkCsvFiles({
    leftPath: values.left,
    rightPath: values.right,
    map: mapResult.data,
    outPath: values.out,
    truthPath: values.truth,
    pseudonymiser: new Pseudonymiser({ keyVersion: values.key === undefined ? 'run' : 'given', key }),
    link: {
      probabilistic: values['no-probabilistic'] ? false : threshold === undefined ? {} : { reviewThreshold: threshold },
    },
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  // Said, so a reader of pairs.csv knows its ids are rows of the file, not a partner's own ids.
  const ids = (side: 'left' | 'right'): string =>
    mapResult.data[side].columns.recordId === undefined ? ' (record ids are row numbers, header = row 1)' : '';
  log(`left: ${outcome.left.records} records${ids('left')}; values dropped: ${JSON.stringify(outcome.left.dropped)}`);
  log(
    `right: ${outcome.right.records} records${ids('right')}; values dropped: ${JSON.stringify(outcome.right.dropped)}`,
  );
  for (const r of outcome.result.deterministic.rules) {
    log(
      `tier ${r.tier} ${r.rule}: ${r.linked} linked, ${r.ambiguousKeys} ambiguous keys held back, ${r.refused} refused by a guard`,
    );
  }
  const c = outcome.result.candidates;
  if (c !== null)
    log(
      `tier 5: ${c.count} review candidates from ${c.scoredPairs} scored pairs (prior ${c.residualPrior.toExponential(2)})`,
    );
  log(`${outcome.pairsWritten} pairs written in ${seconds} s`);
  if (outcome.evaluation !== null) log(formatEvaluation(outcome.evaluation));
}

main().catch((error: unknown) => {
  if (error instanceof LinkFileError) {
    process.stderr.write(`link failed (${error.code}): ${error.message}\n`);
    process.exit(1);
  }
  // File-system errors carry a code (ENOENT...) that says enough without echoing a path or value.
  const code = error instanceof Error && 'code' in error && typeof error.code === 'string' ? ` (${error.code})` : '';
  process.stderr.write(`link failed: ${error instanceof Error ? error.name : 'error'}${code}\n`);
  process.exit(1);
});
