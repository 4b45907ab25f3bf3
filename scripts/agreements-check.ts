/**
 * `npm run agreements:check [-- <folder>]`
 * Checks the agreement files as lintel reads them when it builds its services (the same loader,
 * the same messages), without starting anything: for the officer who edits them. The folder is the
 * one given, else the one the settings name (`AGREEMENTS_DIR`, local settings read first, as
 * `npm start` reads them). Prints each error and warning as `file:line path: error|warning: message`,
 * then a one-line summary. Exit 0 with no errors (warnings or not), 1 with any, 2 when the check
 * cannot run: a command line it cannot read, a folder that is not there, settings it cannot read.
 */
import { statSync } from 'node:fs';
import type { AgreementIssue } from '../shared/agreements/agreement-issue.js';
import { readAgreementFolder } from '../shared/agreements/load.js';
import { failureLine, parseOptions, refuseUsage } from './cli.js';
import { configuredAgreementsDir } from './configured-agreements.js';

const SCRIPT = 'agreements:check';
const USAGE = 'npm run agreements:check [-- <folder>]';

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** `file:line path: kind: message`, as editors and terminals read a location. */
function issueLine(kind: 'error' | 'warning', issue: AgreementIssue): string {
  const line = issue.line === undefined ? '' : `:${issue.line}`;
  const path = issue.path === '' ? '' : ` ${issue.path}`;
  return `${issue.file}${line}${path}: ${kind}: ${issue.message}\n`;
}

/** By file, then line: the loader lists a file's issues check by check, and the checks across files last. */
const inFileOrder = (issues: readonly AgreementIssue[]): AgreementIssue[] =>
  [...issues].sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));

/** The folder the settings name, read as the host reads them; a setting it cannot read ends the check. */
function configuredFolder(): string {
  try {
    return configuredAgreementsDir();
  } catch (err) {
    process.stderr.write(failureLine(SCRIPT, err));
    process.exit(2);
  }
}

const { positionals } = parseOptions(SCRIPT, USAGE, { allowPositionals: true, options: {} });
if (positionals.length > 1) refuseUsage(SCRIPT, `unexpected argument '${positionals[1]}'`, USAGE);
const given = positionals[0];
const folder = given ?? configuredFolder();
const named = given === undefined ? `${folder} (AGREEMENTS_DIR)` : folder;
const stats = statSync(folder, { throwIfNoEntry: false });
if (stats === undefined) refuseUsage(SCRIPT, `no folder ${named}`, given === undefined ? undefined : USAGE);
if (!stats.isDirectory()) refuseUsage(SCRIPT, `${named} is a file, not a folder`);

try {
  const { sources, errors, warnings } = readAgreementFolder(folder);
  let report = '';
  for (const issue of inFileOrder(errors)) report += issueLine('error', issue);
  for (const issue of inFileOrder(warnings)) report += issueLine('warning', issue);
  const agreements = sources.map(({ agreement }) => agreement);
  const parties = new Set(agreements.flatMap(({ parties }) => parties.map(({ id }) => id)));
  const datasets = agreements.reduce((sum, { datasets }) => sum + datasets.length, 0);
  const purposes = agreements.reduce((sum, { purposes }) => sum + purposes.length, 0);
  report +=
    `${count(agreements.length, 'agreement', 'agreements')}, ${count(parties.size, 'party', 'parties')}, ` +
    `${count(datasets, 'dataset', 'datasets')}, ${count(purposes, 'purpose', 'purposes')} read; ` +
    `${count(errors.length, 'error', 'errors')}, ${count(warnings.length, 'warning', 'warnings')}\n`;
  process.stdout.write(report);
  process.exitCode = errors.length > 0 ? 1 : 0;
} catch (err) {
  // A file it cannot read (its permissions): named by its kind only, as the other scripts do.
  process.stderr.write(failureLine(SCRIPT, err));
  process.exitCode = 2;
}
