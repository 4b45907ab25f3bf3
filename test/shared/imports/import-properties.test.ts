import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ukDateOf } from '../../../shared/domain/uk-date.js';
import { asOfDate } from '../../../shared/imports/extract-format.js';
import { ImportFailed, type ImportOutcome } from '../../../shared/imports/import-extract.js';
import { currentSnapshotOrder, findRun, isBehind, type ImportRun } from '../../../shared/imports/import-runs.js';
import { MAX_IMPORT_ATTEMPTS, NON_CONTENT_REASONS, type FileReason } from '../../../shared/imports/reasons.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import {
  createImportHarness,
  freshTables,
  importFixture,
  startAfresh,
  storedRecords,
  type FreshTables,
  type ImportHarness,
} from './import-harness.js';
import { killImportAtPhase } from './kill-at-phase.js';

/**
 * Random histories of two parties' extracts of one dataset — files uploaded (two good contents, a
 * bad one, a good workbook, and two with one bad row, at and just over the default bad-row share,
 * under names undated, dated, a workbook's, or with an extension the import does not read: text
 * read as a workbook and a workbook read as text are refused by reading; now and then with blob
 * metadata `asof` a day after the upload, days after it, no date, or before every name's date; now
 * and then over a snapshot already standing; and, under the second party's folder, that party's
 * own good extract or the first party's, which it may not supply), the bad-row share setting
 * lowered and raised between deliveries (so a file rejected for it and sent again loads), sent
 * again as it was, uploaded and delivered at once, overwritten and deleted, their events delivered
 * and delivered again, attempts failing, an import killed at a phase, and deliveries held at their
 * key read (after the claim, before the rows: where a slow host sits) while others run, are deleted
 * under them, and then carry on or break off — driven through the real import on a real SQLite
 * store and Azurite, with what shared/imports/README.md ("Snapshot", "Snapshots only move forward",
 * "Exactly once", "Attempts", "Sending a rejected file again", "Failures", "Access log") and
 * import-extract.ts's module comment promise checked after every step, each party's snapshot on
 * its own (a load replaces its party's previous snapshot only, and is compared with its party's
 * current one). A delivery that runs through on its own is held to the outcome the README's rules
 * give (the model's `predict`), and a rejection to the reason its run keeps; one that was held while
 * others ran is held to the invariants only.
 *
 * Blob metadata keys in other cases (`AsOf`) are not drawn: the import reads the metadata from the
 * blob's properties, whose keys arrive lower-cased whatever case they were set in (HTTP headers;
 * Azurite lower-cases them too), so no history could tell them apart. extract-format.test.ts reads
 * `AsOf` and `ASOF` directly.
 *
 * Replay a failure with IMPORT_PROPERTY_SEED and IMPORT_PROPERTY_PATH (fast-check prints both);
 * IMPORT_PROPERTY_RUNS sets the number of histories (default 30, about 30 s) and
 * IMPORT_PROPERTY_STEPS the most steps in one (default 12). To hunt, raise the runs, not the
 * steps: the races below are five or six steps long.
 */

const PARTY = 'la-housing';
/** A second source of the dataset: its snapshot and the first party's stand side by side. */
const SECOND_PARTY = 'la-education';
const PARTIES = [PARTY, SECOND_PARTY] as const;
type Party = (typeof PARTIES)[number];
const MDI = 'multiple-disadvantage-indicators';

/**
 * good.csv's first `good` rows with one bad row (a date of birth that is no day) among them: a
 * share of bad rows of 1/(good+1).
 */
function withOneBadRow(good: number): Buffer {
  const [header, ...rows] = importFixture('good.csv').toString('utf8').trimEnd().split('\n');
  const kept = rows.slice(0, good);
  const bad = kept[0]!.replace(/\d{4}-\d{2}-\d{2}/, '1950-02-30');
  return Buffer.from([header, ...kept.slice(0, 5), bad, ...kept.slice(5), ''].join('\n'), 'utf8');
}

const CONTENTS = {
  A: importFixture('good.csv'),
  B: importFixture('good-second-snapshot.csv'),
  // Refused for what its bytes hold (a content reason): a copy of it is a duplicate of that.
  C: importFixture('missing-required-column.csv'),
  // A workbook: read on the row worker, its zip directory before the rows; as text, refused.
  X: importFixture('good.xlsx'),
  // One bad row in 20: at the default share (0.05), which is no more than it, so it loads.
  U: withOneBadRow(19),
  // One bad row in 19 (0.0526): just over the default share, refused whole unless it is raised.
  O: withOneBadRow(18),
  // The second party's good extract; under the first party's folder, columns it may not supply.
  E: importFixture('education-good.csv'),
} as const;
type Content = keyof typeof CONTENTS;
const CONTENT_KEYS = Object.keys(CONTENTS) as Content[];
const SHA = Object.fromEntries(
  CONTENT_KEYS.map((c) => [c, createHash('sha256').update(CONTENTS[c]).digest('hex')]),
) as Record<Content, string>;
const contentOf = (sha: string) => CONTENT_KEYS.find((c) => SHA[c] === sha);
/** The share of bad rows of the contents that have any (README, What a file must be: rows). */
const BAD_ROW_SHARE: Partial<Record<Content, number>> = { U: 1 / 20, O: 1 / 19 };
/**
 * The settings of `IMPORT_MAX_BAD_ROW_SHARE` a history moves between: below both U's and O's
 * share, the default (U's exactly: not more than it, so U loads), and above both.
 */
const THRESHOLDS = [0.04, 0.05, 0.06] as const;
/** What each party's uploads hold: the first party's own contents, or the second's and a file of the first's. */
const CONTENTS_OF: Record<Party, readonly Content[]> = {
  [PARTY]: ['A', 'A', 'B', 'C', 'X', 'U', 'O', 'O'],
  [SECOND_PARTY]: ['E', 'E', 'A'],
};
/**
 * Undated (the upload's day), dated before it, a name the import refuses for its extension, and a
 * workbook's: the text contents under it, and the workbook under the others, are refused by reading
 * them (how, {@link VERDICTS} says), which is no verdict on a copy whose name reads them otherwise.
 */
const NAMES = [
  'x.csv',
  'y.csv',
  'p-20250101.csv',
  'q-20250102.csv',
  'x.dat',
  'w.xlsx',
  // The second party's, in its own folder: the same file names as two of the first party's.
  `${SECOND_PARTY}/x.csv`,
  `${SECOND_PARTY}/q-20250102.csv`,
] as const;
/** A name's party: the second party's names carry its folder, the first party's are bare. */
const partyOf = (name: string): Party => (name.startsWith(`${SECOND_PARTY}/`) ? SECOND_PARTY : PARTY);
const fileOf = (name: string) => name.split('/').at(-1)!;
const blobOf = (name: string) => `${partyOf(name)}/${MDI}/${fileOf(name)}`;
/** The model's name of a blob in incoming. */
const nameOf = (blobName: string) => {
  const [party, , file] = blobName.split('/');
  return party === PARTY ? file! : `${party}/${file}`;
};
const KILL_PHASES = ['claim run', 'report', 'commit'] as const;

/**
 * What an upload's blob metadata `asof` declares (README, Snapshot): nothing (the name's date, else
 * the upload's day), the day after the upload (within the day's grace: it loads, and holds every
 * file of an earlier day back as stale), three days after it (`future-extract`), a day that is no
 * date (`unreadable-asof`), a day before every name's (an older extract arriving after a newer
 * one: `stale-extract` behind any snapshot but another of its date) and an ISO date-time, whose
 * date is q-20250102.csv's. Metadata overrides the name's date.
 */
const AS_OF_KINDS = ['none', 'tomorrow', 'future', 'unreadable', 'old', 'date-time'] as const;
type AsOfKind = (typeof AS_OF_KINDS)[number];
const DAY_MS = 24 * 3600_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The metadata an upload of this kind declares, computed when it is uploaded. */
function declaredAsOf(kind: AsOfKind): string | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'tomorrow':
      return dayOf(Date.now() + DAY_MS);
    case 'future':
      return dayOf(Date.now() + 3 * DAY_MS);
    case 'unreadable':
      return '2025-02-30';
    case 'old':
      return '2024-12-31';
    case 'date-time':
      return '2025-01-02T23:30:00+01:00';
  }
}

/**
 * The day a file describes as the README says: metadata `asof` (a date-time's date), undefined
 * where it is no date; else the name's date, else the upload's day.
 */
function describedDay(name: string, kind: AsOfKind, declared: string | undefined, uploaded: Date) {
  if (declared === undefined) return asOfDate(fileOf(name), {}, uploaded)!;
  return kind === 'unreadable' ? undefined : declared.slice(0, 10);
}

/** Dated after the day it was uploaded, a day's grace allowed (README, Snapshots only move forward). */
const datedInTheFuture = (asOf: string, uploaded: Date) => asOf > dayOf(Date.parse(ukDateOf(uploaded)) + DAY_MS);

type Step =
  | { kind: 'upload'; name: number; content: Content; asOf: AsOfKind }
  /** An upload delivered at once, as most are: what it comes to against what stands. */
  | { kind: 'send'; name: number; content: Content; asOf: AsOfKind }
  /**
   * The file last uploaded under the name sent again (its bytes and metadata, uploaded and delivered
   * at once), as a partner does after a rejection (README, Sending a rejected file again): with
   * the bad-row share raised meanwhile, a file refused for its bad rows loads.
   */
  | { kind: 'again'; name: number }
  | { kind: 'deliver'; name: number }
  | { kind: 'redeliver'; n: number }
  | { kind: 'fail'; name: number }
  | { kind: 'delete'; name: number }
  | { kind: 'hold'; name: number }
  | { kind: 'release'; n: number; fail: boolean }
  | { kind: 'kill'; name: number; phase: number }
  /**
   * The bad-row share setting from here on (an index into THRESHOLDS), and mostly at once a file
   * sent again (the `again`-th, round, of the names uploaded to so far, its last upload), as a
   * partner told of the new setting does.
   */
  | { kind: 'threshold'; share: number; again: number | undefined };

/**
 * The races the import must survive (two deliveries of one file, one breaking off while the
 * file is deleted under the other; a copy under a second name of a file just refused) need the
 * same one or two names again and again. Drawn from all five names, a history of two dozen steps
 * rarely holds a file twice and then deletes it (150 histories missed 02557ce's defect), so each
 * history draws its cast first — one name, two (often one of each party's), or now and then
 * all — and its steps from that cast, weighted towards holds, releases and deletions, and
 * histories are short and many.
 */
const namesOf = (party: Party) => NAMES.flatMap((n, i) => (partyOf(n) === party ? [i] : []));
const cast: fc.Arbitrary<readonly number[]> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.nat(NAMES.length - 1)) },
  { weight: 4, arbitrary: fc.uniqueArray(fc.nat(NAMES.length - 1), { minLength: 2, maxLength: 2 }) },
  // A name of each party: both snapshots stand, each replaced by its own party's loads only.
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...namesOf(PARTY)), fc.constantFrom(...namesOf(SECOND_PARTY))) },
  { weight: 1, arbitrary: fc.constant(NAMES.map((_, i) => i)) },
);

function stepIn(names: readonly number[]): fc.Arbitrary<Step> {
  const name = fc.constantFrom(...names);
  // A name and what its party uploads under it.
  const named = name.chain((n) =>
    fc.record({ name: fc.constant(n), content: fc.constantFrom(...CONTENTS_OF[partyOf(NAMES[n]!)]) }),
  );
  const asOf = fc.oneof(
    { weight: 3, arbitrary: fc.constant<AsOfKind>('none') },
    { weight: 1, arbitrary: fc.constantFrom<AsOfKind>(...AS_OF_KINDS.filter((k) => k !== 'none')) },
  );
  const uploaded = <K extends 'upload' | 'send'>(kind: K) =>
    fc.tuple(named, asOf).map(([{ name, content }, asOf]) => ({ kind, name, content, asOf }));
  return fc.oneof(
    { weight: 3, arbitrary: uploaded('upload') },
    { weight: 1, arbitrary: uploaded('send') },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('again' as const), name }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), name }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('redeliver' as const), n: fc.nat(10) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('fail' as const), name }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('delete' as const), name }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('hold' as const), name }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('release' as const), n: fc.nat(3), fail: fc.boolean() }) },
    {
      weight: Number(process.env.IMPORT_PROPERTY_KILL_WEIGHT ?? 1),
      arbitrary: fc.record({ kind: fc.constant('kill' as const), name, phase: fc.nat(KILL_PHASES.length - 1) }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('threshold' as const),
        share: fc.nat(THRESHOLDS.length - 1),
        again: fc.option(fc.nat(3), { nil: undefined, freq: 4 }),
      }),
    },
  );
}

const MAX_STEPS = Number(process.env.IMPORT_PROPERTY_STEPS ?? 12);
/** What a snapshot already standing holds: a good content of its party's. */
const STANDING: Record<Party, readonly Content[]> = { [PARTY]: ['A', 'B', 'X'], [SECOND_PARTY]: ['E'] };
/**
 * A snapshot already standing, now and then, for each party of the cast, loaded from a file of the
 * cast before the history's steps: an older extract, or one dated in the metadata, meets a current
 * snapshot only after a load, which few short histories reach otherwise.
 */
function standing(names: readonly number[]): fc.Arbitrary<Step[]> {
  const ofParty = (party: Party) =>
    fc
      .record({
        name: fc.constantFrom(...names.filter((n) => partyOf(NAMES[n]!) === party)),
        content: fc.constantFrom<Content>(...STANDING[party]),
        asOf: fc.constantFrom<AsOfKind>('none', 'tomorrow', 'tomorrow', 'old', 'date-time'),
      })
      .map(({ name, content, asOf }): Step[] => [
        { kind: 'upload', name, content, asOf },
        { kind: 'deliver', name },
      ]);
  // One for each party of the cast: a load of one must leave the other's standing.
  const parties = PARTIES.filter((p) => names.some((n) => partyOf(NAMES[n]!) === p));
  return fc.tuple(...parties.map(ofParty)).map((loads) => loads.flat());
}

/**
 * Now and then, before the history's steps, a file just over the default bad-row share (O) sent
 * under a name of the first party's in the cast: refused for its bad rows under the default, it
 * is there for a raised setting and the file sent again, which few short histories reach otherwise.
 */
function refusedForBadRows(names: readonly number[]): fc.Arbitrary<Step[]> {
  const ofFirstParty = names.filter((n) => partyOf(NAMES[n]!) === PARTY);
  if (ofFirstParty.length === 0) return fc.constant([]);
  return fc.constantFrom(...ofFirstParty).map((name): Step[] => [{ kind: 'send', name, content: 'O', asOf: 'none' }]);
}

const history = cast.chain((names) =>
  fc
    .tuple(
      fc.oneof(
        { weight: 2, arbitrary: fc.constant<Step[]>([]) },
        { weight: 1, arbitrary: standing(names) },
        { weight: 1, arbitrary: refusedForBadRows(names) },
      ),
      fc.array(stepIn(names), { minLength: 1, maxLength: MAX_STEPS }),
    )
    .map(([before, steps]) => [...before, ...steps]),
);

interface Upload {
  readonly party: Party;
  readonly content: Content;
  readonly etag: string;
  readonly lastModified: Date;
  /** Its metadata `asof`, if any, and the day the model takes it to describe (undefined: no date). */
  readonly declared: string | undefined;
  readonly asOf: string | undefined;
}

/** A delivery held at its key read: `release(fail)` lets it carry on, or break off there. */
interface Held {
  readonly name: string;
  readonly upload: Upload;
  readonly done: Promise<ImportOutcome | Error>;
  readonly release: (fail: boolean) => void;
}

interface Model {
  /** What incoming holds, by name (the model's own record, checked against Azurite). */
  incoming: Map<string, Upload>;
  held: Held[];
  /** Per party, the snapshot that should be current: the content of its last load, its date and upload. */
  current: Map<Party, { content: Content; asOf: string; uploadedAt: string }>;
  /** The bad-row share setting deliveries run under now. */
  threshold: number;
  /** What was last uploaded under each name (by its index), for a step that sends it again. */
  uploaded: Map<number, { content: Content; asOf: AsOfKind }>;
  /** ETags of uploads a delivery settled (loaded, rejected, duplicate): never in incoming again. */
  settled: Set<string>;
  /** Per run, each finish seen (its finished_at): one access-log entry each. */
  finishes: Map<string, Set<string>>;
  /** Per run, finishes made by an import killed after its commit: their entry is written by the next own delivery. */
  unlogged: Map<string, Set<string>>;
  /**
   * Runs (by {@link runKey}) whose unfinished run lost its last file while no delivery of it ran:
   * nothing can finish it, but for a delivery of the gone file's event where the run is `loading`
   * under its name (checked in `deliver`); a history need not deliver it again.
   */
  abandoned: Set<string>;
  delivered: string[];
  /** The access log's last seq before the history began: it keeps what earlier histories logged. */
  logAfter: number;
}

type Predicted =
  | { outcome: 'gone' }
  | { outcome: 'loaded' }
  | { outcome: 'rejected'; reason: string }
  | { outcome: 'duplicate'; of: 'loaded' | 'rejected' };

/** The run a party's upload of the content is keyed by (README, Exactly once: party, dataset, bytes). */
const runOf = (h: ImportHarness, party: Party, content: Content) => findRun(h.store.db, party, MDI, SHA[content]);
const runKey = (party: string, sha: string) => `${party}/${sha}`;

/** Whether a delivery now, under the setting, finds too many bad rows in the content (more than the share). */
const tooManyBadRows = (m: Model, content: Content) => (BAD_ROW_SHARE[content] ?? 0) > m.threshold;

/**
 * What the README's rules say a delivery of `name`, run through on its own, comes to: from the
 * run of its bytes as the ledger holds it, the model's current snapshot and the blob as uploaded.
 */
async function predict(h: ImportHarness, m: Model, name: string): Promise<Predicted> {
  const upload = m.incoming.get(name);
  if (upload === undefined) return { outcome: 'gone' };
  const asOf = upload.asOf;
  const uploadedAt = upload.lastModified.toISOString();
  const run = await runOf(h, upload.party, upload.content);
  const current = m.current.get(upload.party);
  let attempt = 1;
  if (run !== undefined && (run.status === 'loaded' || run.status === 'rejected')) {
    const cur = current;
    const supersedes =
      cur !== undefined && asOf !== undefined && SHA[cur.content] !== run.content_sha256 && asOf > cur.asOf;
    const uploadedAgain =
      run.status === 'rejected' &&
      run.finished_at !== null &&
      upload.lastModified.getTime() > Date.parse(run.finished_at);
    const anotherFile =
      run.status === 'rejected' &&
      run.blob_name !== blobOf(name) &&
      run.rejection_reason !== null &&
      (NON_CONTENT_REASONS.has(run.rejection_reason as FileReason) || !readAlike(run.blob_name, blobOf(name)));
    if (!supersedes && !uploadedAgain && !anotherFile) return { outcome: 'duplicate', of: run.status };
  } else if (run !== undefined) attempt = run.attempt + 1;
  if (attempt > MAX_IMPORT_ATTEMPTS) return { outcome: 'rejected', reason: 'import-attempts-exhausted' };
  const read = readAs(name);
  if (read === 'unread') return { outcome: 'rejected', reason: 'unsupported-file-type' };
  if (asOf === undefined) return { outcome: 'rejected', reason: 'unreadable-asof' };
  const verdict = verdictOf(upload.party, upload.content, read, m);
  // A workbook's zip directory is read before the load compares its date with the current snapshot.
  if (read === 'xlsx' && verdict !== 'loaded') return { outcome: 'rejected', reason: verdict };
  if (datedInTheFuture(asOf, upload.lastModified)) return { outcome: 'rejected', reason: 'future-extract' };
  if (current !== undefined && isBehind({ asOf, uploadedAt }, current))
    return { outcome: 'rejected', reason: 'stale-extract' };
  if (verdict !== 'loaded') return { outcome: 'rejected', reason: verdict };
  return { outcome: 'loaded' };
}

/** How a name of this model says its file is read: not at all (`.dat`), as a workbook, or as comma text. */
type ReadAs = 'unread' | 'xlsx' | 'csv';
const readAs = (name: string): ReadAs => (name.endsWith('.dat') ? 'unread' : name.endsWith('.xlsx') ? 'xlsx' : 'csv');

/**
 * Whether two names read a file alike (README, Sending a rejected file again): a verdict reached by
 * reading the bytes holds for a copy read the same way only.
 */
const readAlike = (a: string, b: string) => readAs(a) === readAs(b);

/**
 * What each content comes to when read as each name reads it, under each party's folder, on a
 * store of its own: `loaded`, or the reason it is refused for (beforeAll), by {@link verdictKey}. A
 * workbook's refusals here all come from its zip directory, before the date is compared (checked
 * there). U and O, read as text, load there (under a setting above their share): whether a
 * delivery refuses them for their bad rows is the setting's, {@link verdictOf}.
 */
const VERDICTS = new Map<string, string>();
const verdictKey = (party: Party, content: Content, read: ReadAs) => `${party}/${content}/${read}`;

function verdictOf(party: Party, content: Content, read: ReadAs, m: Model): string {
  const verdict = VERDICTS.get(verdictKey(party, content, read));
  expect(verdict, `a verdict on ${content} read as ${read} from ${party}`).toBeDefined();
  return verdict === 'loaded' && tooManyBadRows(m, content) ? 'bad-row-share-exceeded' : verdict!;
}

/** Reasons found before the key is read (the rest are found after: reading the file, or comparing its date). */
const BEFORE_THE_KEY = new Set(['import-attempts-exhausted', 'unsupported-file-type', 'unreadable-asof']);

/** Whether a delivery predicted so reads the key (and so can be held, or failed, there). */
const readsKey = (p: Predicted) =>
  p.outcome === 'loaded' || (p.outcome === 'rejected' && !BEFORE_THE_KEY.has(p.reason));

async function upload(h: ImportHarness, name: string, content: Content, kind: AsOfKind): Promise<Upload> {
  const declared = declaredAsOf(kind);
  await h.drop(blobOf(name), CONTENTS[content], declared === undefined ? undefined : { asof: declared });
  const props = await h.blobs.getContainerClient(h.containers.incoming).getBlobClient(blobOf(name)).getProperties();
  const lastModified = props.lastModified!;
  return {
    party: partyOf(name),
    content,
    etag: unquoted(props.etag!),
    lastModified,
    declared,
    asOf: describedDay(name, kind, declared, lastModified),
  };
}

/** The list and the blob's properties quote an ETag differently. */
const unquoted = (etag: string) => etag.replace(/^"|"$/g, '');

async function listed(h: ImportHarness, container: 'incoming' | 'processed' | 'rejected') {
  const found = new Map<string, string>();
  for await (const blob of h.blobs.getContainerClient(h.containers[container]).listBlobsFlat())
    found.set(blob.name, unquoted(blob.properties.etag));
  return found;
}

const normalised = (rows: Awaited<ReturnType<typeof storedRecords>>) =>
  rows.map(({ import_run_id: _run, as_of: _asOf, ...row }) => row);

/** One clean load of each good content (by its party), in a store of its own. */
const clean = new Map<Content, ReturnType<typeof normalised>>();

/**
 * What becomes of a delivery that has finished: the model follows a load, and whatever settled
 * the file must have moved it out of incoming. A file is never filed as a duplicate of a
 * rejection about another file as delivered (README, Sending a rejected file again).
 */
async function settle(h: ImportHarness, m: Model, name: string, up: Upload | undefined, result: ImportOutcome | Error) {
  if (result instanceof Error) {
    expect(result, String(result)).toBeInstanceOf(ImportFailed);
    return;
  }
  if (result.outcome === 'gone') return;
  expect(up, `${name} settled (${result.outcome}) though the model had no file there`).toBeDefined();
  m.settled.add(up!.etag);
  if (m.incoming.get(name)?.etag === up!.etag) m.incoming.delete(name);
  if (result.outcome === 'loaded') {
    m.current.set(up!.party, { content: up!.content, asOf: up!.asOf!, uploadedAt: up!.lastModified.toISOString() });
  }
  if (result.outcome === 'duplicate' && result.of === 'rejected') {
    const run = (await runOf(h, up!.party, up!.content))!;
    const forAnotherDelivery =
      run.status === 'rejected' &&
      run.blob_name !== blobOf(name) &&
      run.rejection_reason !== null &&
      (NON_CONTENT_REASONS.has(run.rejection_reason as FileReason) || !readAlike(run.blob_name, blobOf(name)));
    expect(
      forAnotherDelivery,
      `${name} filed as a duplicate of ${run.blob_name}'s rejection for ${run.rejection_reason}`,
    ).toBe(false);
  }
}

async function checkInvariants(h: ImportHarness, m: Model, afterKill: boolean) {
  const runs: ImportRun[] = await h.store.db.selectFrom('import_run').selectAll().execute();
  const incoming = await listed(h, 'incoming');

  // The model's incoming is Azurite's (a check on the model itself).
  expect(new Map([...incoming].map(([n, e]) => [nameOf(n), e])), 'incoming as the model has it').toEqual(
    new Map([...m.incoming].map(([n, u]) => [n, u.etag])),
  );

  // 1. Each party's stored snapshot is one clean load of the content that should be current, never
  // a mixture, and a load replaced its own party's previous snapshot only (README, Snapshot).
  let stored = 0;
  for (const party of PARTIES) {
    const records = await storedRecords(h.store, party, MDI);
    stored += records.length;
    const order = await currentSnapshotOrder(h.store.db, party, MDI);
    const current = m.current.get(party);
    if (current === undefined) {
      expect(order, `a snapshot of ${party} the model never loaded`).toBeUndefined();
      expect(records, `records of ${party}`).toEqual([]);
      continue;
    }
    const run = runs.find((r) => r.id === order?.runId);
    expect(run && contentOf(run.content_sha256), `${party}'s current snapshot’s content`).toBe(current.content);
    // The run keeps its file's date and upload time (README, Snapshots only move forward).
    expect({ asOf: run!.as_of, uploadedAt: run!.uploaded_at }, `${party}'s current snapshot’s date and upload`).toEqual(
      { asOf: current.asOf, uploadedAt: current.uploadedAt },
    );
    expect(new Set(records.map((r) => r.import_run_id)), `records of ${party}: of one run, the current one`).toEqual(
      new Set([run!.id]),
    );
    expect(normalised(records), `${party}'s current snapshot as one clean load stores it`).toEqual(
      clean.get(current.content),
    );
  }
  const all = await h.store.db
    .selectFrom('source_record')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  expect(Number(all.n), 'records of no party’s current snapshot').toBe(stored);

  // 2. An unfinished run is unfinished only while some delivery could still finish it: one held,
  // or a file of its bytes in incoming (the queue delivers its event until it is settled).
  for (const run of runs) {
    const key = runKey(run.party_id, run.content_sha256);
    if (run.status !== 'loading' && run.status !== 'failed') {
      m.abandoned.delete(key);
      continue;
    }
    const content = contentOf(run.content_sha256);
    const ofRun = (u: Upload) => u.party === run.party_id && u.content === content;
    const finishable =
      m.held.some((d) => ofRun(d.upload)) || [...m.incoming.values()].some(ofRun) || m.abandoned.has(key);
    expect(
      finishable,
      `run of ${run.party_id}'s ${content} left ${run.status} (attempt ${run.attempt}) with nothing to finish it`,
    ).toBe(true);
  }

  // 3. A file a delivery settled is not in incoming.
  for (const [blobName, etag] of incoming)
    expect(m.settled.has(etag), `${blobName} settled, yet still in incoming`).toBe(false);

  // 4. Every file in processed/ and rejected/ has its report beside it.
  for (const container of ['processed', 'rejected'] as const) {
    const there = await listed(h, container);
    for (const blobName of there.keys()) {
      if (blobName.endsWith('.report.json') || blobName.endsWith('.staged')) continue;
      expect(there.has(`${blobName}.report.json`), `${container}/${blobName} without a report`).toBe(true);
    }
  }

  // 5. One access-log entry per finish of a run (a load or a rejection; a duplicate, a failure
  // or a file gone has none). A kill just after a load's commit leaves its entry to the file's
  // next delivery.
  for (const run of runs) {
    if (run.status !== 'loaded' && run.status !== 'rejected') continue;
    const seen = m.finishes.get(run.id) ?? new Set<string>();
    if (!seen.has(run.finished_at!)) {
      seen.add(run.finished_at!);
      m.finishes.set(run.id, seen);
      if (afterKill) m.unlogged.set(run.id, new Set([...(m.unlogged.get(run.id) ?? []), run.finished_at!]));
    }
  }
  const entries = await h.store.db
    .selectFrom('access_log')
    .select(['request_id'])
    .where('action', '=', 'import')
    .where('seq', '>', m.logAfter)
    .execute();
  for (const run of runs) {
    const logged = entries.filter((e) => e.request_id === run.id).length;
    const finished = m.finishes.get(run.id)?.size ?? 0;
    const maybeUnlogged = m.unlogged.get(run.id)?.size ?? 0;
    expect(
      logged >= finished - maybeUnlogged && logged <= finished,
      `run of ${contentOf(run.content_sha256)}: ${logged} access-log entries for ${finished} finishes`,
    ).toBe(true);
  }
  expect(
    entries.every((e) => runs.some((r) => r.id === e.request_id)),
    'access-log entry of no run',
  ).toBe(true);
}

/** Marks the bytes of `name` abandoned when the file goes (deleted while no delivery of it runs, or overwritten) and their run is unfinished. */
async function losing(h: ImportHarness, m: Model, name: string, overwrittenWith?: Content) {
  // A file deleted under a held delivery and then uploaded again is, to that delivery, overwritten.
  const up =
    m.incoming.get(name) ?? (overwrittenWith === undefined ? undefined : m.held.find((d) => d.name === name)?.upload);
  if (up === undefined || up.content === overwrittenWith) return;
  // Deleted under a delivery, the file is that delivery's to reject as removed (README, Failures);
  // overwritten under it, its attempt fails (overwritten-mid-import), and nothing is promised. Only
  // the upload the delivery holds, though: one made over it since is no delivery's (seed -422478844).
  if (overwrittenWith === undefined && m.held.some((d) => d.name === name && d.upload.etag === up.etag)) return;
  const run = await runOf(h, up.party, up.content);
  if (run !== undefined && (run.status === 'loading' || run.status === 'failed'))
    m.abandoned.add(runKey(up.party, SHA[up.content]));
}

function failingSecrets(h: ImportHarness): SecretSource {
  return Object.create(h.secrets, {
    get: {
      value: async () => Promise.reject(Object.assign(new Error('Key Vault timed out'), { name: 'TimeoutError' })),
    },
  }) as SecretSource;
}

async function apply(h: ImportHarness, m: Model, s: Step, log: string[]): Promise<boolean> {
  const deliver = async (n: string, how: 'deliver' | 'fail') => {
    const up = m.incoming.get(n);
    const predicted = await predict(h, m, n);
    const result = await h
      .run(blobOf(n), { maxBadRowShare: m.threshold, ...(how === 'fail' ? { secrets: failingSecrets(h) } : {}) })
      .catch((err: Error) => err);
    log.push(`${how} ${n}: ${result instanceof Error ? result.message : JSON.stringify(result)}`);
    m.delivered.push(n);
    if (!(result instanceof Error) && result.outcome === 'gone') {
      // Nor does a delivery that finds the file gone leave a run of it `loading` or `failed` (a
      // load killed mid-way or broken off, its file then deleted): none can finish it after
      // (README, Failures).
      const unfinished = await h.store.db
        .selectFrom('import_run')
        .select('id')
        .where('blob_name', '=', blobOf(n))
        .where('status', 'in', ['loading', 'failed'])
        .execute();
      expect(unfinished, `${n} gone, and a run of it left unfinished`).toEqual([]);
    }
    if (how === 'fail' && readsKey(predicted)) expect(result).toBeInstanceOf(ImportFailed);
    else {
      expect(result, `${how} ${n}: predicted ${JSON.stringify(predicted)}`).not.toBeInstanceOf(Error);
      expect(result, `${how} ${n}`).toMatchObject(
        predicted.outcome === 'rejected' ? { outcome: 'rejected', reasons: [predicted.reason] } : predicted,
      );
      // The run keeps its rejection's reason (README, Sending a rejected file again).
      if (predicted.outcome === 'rejected')
        expect((await runOf(h, up!.party, up!.content))?.rejection_reason, `${n}'s run's rejection_reason`).toBe(
          predicted.reason,
        );
    }
    await settle(h, m, n, up, result);
  };
  switch (s.kind) {
    case 'upload': {
      const n = NAMES[s.name]!;
      await losing(h, m, n, s.content);
      const up = await upload(h, n, s.content, s.asOf);
      m.incoming.set(n, up);
      m.uploaded.set(s.name, { content: s.content, asOf: s.asOf });
      m.abandoned.delete(runKey(partyOf(n), SHA[s.content]));
      log.push(`upload ${n} = ${s.content}${up.declared === undefined ? '' : ` (asof ${up.declared})`}`);
      return false;
    }
    case 'send':
      await apply(h, m, { ...s, kind: 'upload' }, log);
      await deliver(NAMES[s.name]!, 'deliver');
      return false;
    case 'again': {
      const last = m.uploaded.get(s.name);
      if (last === undefined) return false;
      return apply(h, m, { kind: 'send', name: s.name, ...last }, log);
    }
    case 'deliver':
      await deliver(NAMES[s.name]!, 'deliver');
      return false;
    case 'redeliver':
      if (m.delivered.length === 0) return false;
      await deliver(m.delivered[s.n % m.delivered.length]!, 'deliver');
      return false;
    case 'fail':
      await deliver(NAMES[s.name]!, 'fail');
      return false;
    case 'delete': {
      const n = NAMES[s.name]!;
      if (!m.incoming.has(n)) return false;
      await losing(h, m, n);
      await h.blobs.getContainerClient(h.containers.incoming).getBlobClient(blobOf(n)).delete();
      m.incoming.delete(n);
      log.push(`delete ${n}`);
      return false;
    }
    case 'hold': {
      const n = NAMES[s.name]!;
      const up = m.incoming.get(n);
      const predicted = await predict(h, m, n);
      if (up === undefined || m.held.length >= 2 || !readsKey(predicted))
        return apply(h, m, { kind: 'deliver', name: s.name }, log);
      let holding!: () => void;
      const held = new Promise<'held'>((r) => (holding = () => r('held')));
      let release!: (fail: boolean) => void;
      const released = new Promise<boolean>((r) => (release = r));
      const secrets: SecretSource = Object.create(h.secrets, {
        get: {
          value: async (...args: Parameters<SecretSource['get']>) => {
            holding();
            if (await released) throw Object.assign(new Error('Key Vault timed out'), { name: 'TimeoutError' });
            return h.secrets.get(...args);
          },
        },
      });
      const done = h.run(blobOf(n), { secrets, maxBadRowShare: m.threshold }).catch((err: Error) => err);
      m.delivered.push(n);
      const first = await Promise.race([held, done]);
      expect(first, `hold ${n} (predicted ${JSON.stringify(predicted)}) reads the key`).toBe('held');
      m.held.push({ name: n, upload: up, done, release });
      log.push(`hold ${n} (${up.content})`);
      return false;
    }
    case 'release': {
      if (m.held.length === 0) return false;
      const d = m.held.splice(s.n % m.held.length, 1)[0]!;
      d.release(s.fail);
      const result = await d.done;
      log.push(
        `release ${d.name} (${d.upload.content}) to ${s.fail ? 'fail' : 'carry on'}: ${
          result instanceof Error ? result.message : JSON.stringify(result)
        }`,
      );
      await settle(h, m, d.name, d.upload, result);
      return false;
    }
    case 'kill': {
      const n = NAMES[s.name]!;
      const predicted = await predict(h, m, n);
      const phases =
        predicted.outcome === 'loaded'
          ? KILL_PHASES
          : predicted.outcome === 'rejected'
            ? KILL_PHASES.slice(0, 2)
            : predicted.outcome === 'duplicate'
              ? KILL_PHASES.slice(0, 1)
              : [];
      if (phases.length === 0) return false;
      const phase = phases[s.phase % phases.length]!;
      await killImportAtPhase(h, phase, blobOf(n), { maxBadRowShare: m.threshold });
      log.push(`kill ${n} at ${phase} (would have been ${JSON.stringify(predicted)})`);
      if (phase === 'commit') {
        const up = m.incoming.get(n)!;
        m.current.set(up.party, { content: up.content, asOf: up.asOf!, uploadedAt: up.lastModified.toISOString() });
      }
      return true;
    }
    case 'threshold':
      m.threshold = THRESHOLDS[s.share]!;
      log.push(`threshold ${m.threshold}`);
      if (s.again === undefined || m.uploaded.size === 0) return false;
      return apply(h, m, { kind: 'again', name: [...m.uploaded.keys()][s.again % m.uploaded.size]! }, log);
  }
}

describe('imports over random histories of deliveries (property)', () => {
  let h: ImportHarness;
  let fresh: FreshTables;
  beforeAll(async () => {
    // In one store: first what each content is refused for as each name reads it, under each
    // party's folder (a refusal found by reading is no verdict on a name that reads the bytes
    // otherwise, so a later load of the same bytes under a name that reads them as they are meant
    // opens the run again), then one clean load of each good content, under a bad-row share above
    // every content's (whether a delivery refuses U or O for their bad rows is its setting's).
    // Then the histories' own, put back afresh before each.
    h = await createImportHarness();
    fresh = freshTables(h);
    for (const [party, content, read] of [
      [PARTY, 'A', 'xlsx'],
      [PARTY, 'B', 'xlsx'],
      [PARTY, 'C', 'xlsx'],
      [PARTY, 'U', 'xlsx'],
      [PARTY, 'O', 'xlsx'],
      [PARTY, 'E', 'xlsx'],
      [PARTY, 'C', 'csv'],
      [PARTY, 'X', 'csv'],
      [PARTY, 'E', 'csv'],
      [SECOND_PARTY, 'A', 'csv'],
    ] as const) {
      const outcome = await h.importFile(`${party}/${MDI}/verdict-${content}.${read}`, CONTENTS[content]);
      expect(outcome.outcome, `${content} read as ${read} from ${party}`).toBe('rejected');
      VERDICTS.set(verdictKey(party, content, read), outcome.outcome === 'rejected' ? outcome.reasons[0]! : '');
    }
    for (const [party, content, read] of [
      [PARTY, 'A', 'csv'],
      [PARTY, 'B', 'csv'],
      [PARTY, 'X', 'xlsx'],
      [PARTY, 'U', 'csv'],
      [PARTY, 'O', 'csv'],
      [SECOND_PARTY, 'E', 'csv'],
    ] as const) {
      const outcome = await h.importFile(`${party}/${MDI}/clean-${content}.${read}`, CONTENTS[content], undefined, {
        maxBadRowShare: 1,
      });
      expect(outcome, `${content} read as ${read} from ${party}`).toMatchObject({ outcome: 'loaded' });
      // The model's premise: U and O hold the share of bad rows it takes them to.
      if (outcome.outcome === 'loaded')
        expect(outcome.rejected / outcome.rows, `${content}'s share of bad rows`).toBe(BAD_ROW_SHARE[content] ?? 0);
      VERDICTS.set(verdictKey(party, content, read), 'loaded');
      clean.set(content, normalised(await storedRecords(h.store, party, MDI)));
    }
    // The model's premise: every refusal of a workbook here comes from its zip directory.
    for (const content of ['A', 'B', 'C', 'U', 'O', 'E'] as const)
      expect(VERDICTS.get(verdictKey(PARTY, content, 'xlsx'))).toBe('xlsx-not-a-zip');
  });
  afterAll(async () => {
    clean.clear();
    VERDICTS.clear();
    await h?.close();
  });

  it('keeps its promises after every step', async () => {
    await fc.assert(
      fc.asyncProperty(history, async (steps) => {
        await startAfresh(h, fresh);
        await h.deps().accessLog.drain();
        const last = await h.store.db
          .selectFrom('access_log')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirst();
        const log: string[] = [];
        const m: Model = {
          incoming: new Map(),
          held: [],
          current: new Map(),
          threshold: 0.05,
          uploaded: new Map(),
          settled: new Set(),
          finishes: new Map(),
          unlogged: new Map(),
          abandoned: new Set(),
          delivered: [],
          logAfter: last?.seq ?? 0,
        };
        try {
          for (const s of steps) {
            const killed = await apply(h, m, s, log);
            await checkInvariants(h, m, killed);
          }
          // Let every held delivery carry on, one at a time, checking after each.
          while (m.held.length > 0) {
            await apply(h, m, { kind: 'release', n: 0, fail: false }, log);
            await checkInvariants(h, m, false);
          }
        } catch (err) {
          (err as Error).message += `\n${log.join('\n')}`;
          throw err;
        } finally {
          for (const d of m.held) d.release(true);
          await Promise.all(m.held.map((d) => d.done));
        }
      }),
      {
        numRuns: Number(process.env.IMPORT_PROPERTY_RUNS ?? 30),
        endOnFailure: false,
        ...(process.env.IMPORT_PROPERTY_SEED
          ? { seed: Number(process.env.IMPORT_PROPERTY_SEED), path: process.env.IMPORT_PROPERTY_PATH }
          : {}),
      },
    );
  }, 600_000);
});
