/**
 * Reads agreement files, validates them against the schema and the cross-checks, and builds
 * the AgreementSet every request is decided against. Any error stops start-up with a message
 * naming the file, the path in it and the line; warnings (an overdue review, a missing date)
 * are returned on the set for the DPO and the start-up log.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { AgreementValidationError, formatPath } from './agreement-issue.js';
import type { AgreementIssue, IssuePath } from './agreement-issue.js';
import { AgreementSet } from './agreement-set.js';
import { checkAgreement, checkAgreementSet } from './cross-check.js';
import type { AgreementSource, FoundIssue } from './cross-check.js';
import { AgreementSchema } from './schema.js';
import type { Agreement } from './schema.js';

/** The files of an agreements folder the loader reads (its own files, not its subfolders'). */
export const AGREEMENT_FILE = /\.(ya?ml|json)$/i;

export interface LoadOptions {
  /** The date against which review dates are judged; defaults to the current time. */
  readonly now?: Date;
}

export interface AgreementText {
  readonly fileName: string;
  readonly text: string;
}

interface ParsedFile {
  readonly agreement: Agreement | undefined;
  /** The file's YAML and schema errors: one with any is not checked further. */
  readonly errors: AgreementIssue[];
  /** An issue found in the file, with the file's name and the line its path stands on. */
  readonly issue: (found: FoundIssue) => AgreementIssue;
}

/** Reads one file's YAML and checks it against the schema; the checks within it come after. */
function parseFile(text: string, fileName: string): ParsedFile {
  const lineCounter = new LineCounter();
  // JSON is read by the same parser: it is YAML, and this keeps line numbers for both.
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const issue = (found: FoundIssue): AgreementIssue => {
    const line = lineOf(document, lineCounter, found.path);
    return {
      file: fileName,
      path: formatPath(found.path),
      message: found.message,
      ...(line === undefined ? {} : { line }),
    };
  };

  if (document.errors.length > 0) {
    const errors = document.errors.map((error) => ({
      file: fileName,
      path: '',
      line: error.linePos?.[0].line ?? lineCounter.linePos(error.pos[0]).line,
      message: `not valid YAML/JSON: ${error.code}`,
    }));
    return { agreement: undefined, errors, issue };
  }

  const input: unknown = document.toJS();
  const result = AgreementSchema.safeParse(input);
  if (!result.success) {
    const errors = result.error.issues.flatMap((zodIssue) => schemaIssues(zodIssue, input)).map(issue);
    return { agreement: undefined, errors, issue };
  }
  return { agreement: result.data, errors: [], issue };
}

/**
 * The schema's issues as the officer editing the file needs them: a key the schema does not know
 * (most often a misspelt one) is named by its own path, one issue a key, so its line is the key's
 * and not the start of the block holding it, which for a top-level key is the top of the file;
 * a required key left out is said to be missing, where zod would say its value is of the wrong
 * type ("expected object, received undefined") or not one of its options.
 */
function schemaIssues(zodIssue: z.core.$ZodIssue, input: unknown): FoundIssue[] {
  const path = zodIssue.path.filter((part): part is string | number => typeof part !== 'symbol');
  if (zodIssue.code === 'unrecognized_keys') {
    return zodIssue.keys.map((key) => ({
      path: [...path, key],
      message: `unknown key '${key}': lintel reads no such key here (misspelt?)`,
    }));
  }
  // A refinement's path may name a key left out on purpose (an enum's `values`): its message says why.
  const key = path.at(-1);
  const parent = valueAt(input, path.slice(0, -1));
  if (zodIssue.code !== 'custom' && typeof key === 'string' && parent !== undefined && !Object.hasOwn(parent, key)) {
    return [{ path, message: `required key '${key}' is missing` }];
  }
  return [{ path, message: zodIssue.message }];
}

/** The object at `path` in the file's data, or undefined where there is none. */
function valueAt(data: unknown, path: IssuePath): object | undefined {
  let value = data;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string | number, unknown>)[part];
  }
  return typeof value === 'object' && value !== null ? value : undefined;
}

function lineOf(document: Document, lineCounter: LineCounter, path: IssuePath): number | undefined {
  // A key's own line, not its value's: a block value starts on the line after its key.
  const parent = document.getIn(path.slice(0, -1), true);
  const key = path.at(-1);
  if (path.length > 0 && isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === key);
    if (isNode(pair?.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]).line;
  }
  // A missing property has no node of its own: fall back to the nearest enclosing one.
  for (let length = path.length; length >= 0; length -= 1) {
    const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * Parses and checks one agreement on its own (schema and the checks within the file).
 * Throws AgreementValidationError naming `fileName` and each problem's path.
 */
export function parseAgreement(text: string, fileName: string, options: LoadOptions = {}): Agreement {
  const parsed = parseFile(text, fileName);
  if (parsed.agreement === undefined) throw new AgreementValidationError(parsed.errors);
  const checked = checkAgreement(parsed.agreement, options.now ?? new Date());
  if (checked.errors.length > 0) throw new AgreementValidationError(checked.errors.map(parsed.issue));
  return parsed.agreement;
}

/**
 * What the loader found in agreement texts: the agreements it read (each whose file passed the
 * schema, whatever its other errors), and every error and warning. Agreements with errors make
 * no AgreementSet: {@link buildAgreementSet} and {@link loadAgreements} throw them.
 */
export interface AgreementReading {
  readonly sources: readonly AgreementSource[];
  readonly errors: readonly AgreementIssue[];
  readonly warnings: readonly AgreementIssue[];
}

/**
 * Reads agreement texts as {@link buildAgreementSet} does, returning what it found rather than
 * throwing it: for a check that reports the warnings of files that have errors too.
 */
export function readAgreementTexts(texts: readonly AgreementText[], options: LoadOptions = {}): AgreementReading {
  const now = options.now ?? new Date();
  const errors: AgreementIssue[] = [];
  const warnings: AgreementIssue[] = [];
  const sources: AgreementSource[] = [];

  const files = texts.map(({ text, fileName }) => ({ fileName, ...parseFile(text, fileName) }));
  // Which agreement defines each purpose, for a grant naming one its own agreement does not: said
  // to be another agreement's, where "unknown purpose" sent the officer looking for a misspelling.
  const purposeAgreements = new Map<string, string>();
  for (const { agreement } of files) {
    agreement?.purposes.forEach((purpose) => {
      if (!purposeAgreements.has(purpose.id)) purposeAgreements.set(purpose.id, agreement.id);
    });
  }
  for (const { fileName, agreement, errors: fileErrors, issue } of files) {
    errors.push(...fileErrors);
    if (agreement === undefined) continue;
    const checked = checkAgreement(agreement, now, purposeAgreements);
    errors.push(...checked.errors.map(issue));
    warnings.push(...checked.warnings.map(issue));
    sources.push({ agreement, file: fileName });
  }
  if (texts.length === 0) {
    errors.push({ file: '(none)', path: '', message: 'no agreement files were given' });
  }

  // Each names a file of `sources`, every one of which was parsed here: its lines are that file's.
  const issueIn = new Map(files.map(({ fileName, issue }) => [fileName, issue]));
  for (const found of checkAgreementSet(sources)) errors.push(issueIn.get(found.file)!(found));

  return { sources, errors, warnings };
}

function setOf({ sources, errors, warnings }: AgreementReading): AgreementSet {
  if (errors.length > 0) throw new AgreementValidationError(errors);
  return new AgreementSet(sources, warnings);
}

/**
 * Builds an AgreementSet from agreement texts: each file is checked on its own, then all of
 * them together (unique agreement, purpose and dataset ids; one definition per party).
 */
export function buildAgreementSet(texts: readonly AgreementText[], options: LoadOptions = {}): AgreementSet {
  return setOf(readAgreementTexts(texts, options));
}

/**
 * Reads every `*.yaml`, `*.yml` and `*.json` file in `dir` (not its subfolders) as
 * {@link loadAgreements} does, returning what it found rather than throwing it.
 */
export function readAgreementFolder(dir: string, options: LoadOptions = {}): AgreementReading {
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && AGREEMENT_FILE.test(entry.name))
    .map((entry) => entry.name)
    .sort();
  if (names.length === 0) {
    return {
      sources: [],
      errors: [{ file: dir, path: '', message: 'no agreement files (*.yaml, *.yml, *.json) in this folder' }],
      warnings: [],
    };
  }
  const texts = names.map((name) => {
    const fileName = join(dir, name);
    return { fileName, text: readFileSync(fileName, 'utf8') };
  });
  return readAgreementTexts(texts, options);
}

/**
 * Loads every `*.yaml`, `*.yml` and `*.json` file in `dir` (not its subfolders). Synchronous:
 * it runs once at start-up, before any request is served.
 */
export function loadAgreements(dir: string, options: LoadOptions = {}): AgreementSet {
  return setOf(readAgreementFolder(dir, options));
}
