import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asOfDate } from '../../../shared/imports/extract-format.js';
import { ImportFailed, type ImportOutcome } from '../../../shared/imports/import-extract.js';
import { currentSnapshotOrder, findRun, isBehind, type ImportRun } from '../../../shared/imports/import-runs.js';
import { MAX_IMPORT_ATTEMPTS, NON_CONTENT_REASONS, type FileReason } from '../../../shared/imports/reasons.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import { createImportHarness, importFixture, storedRecords, type ImportHarness } from './import-harness.js';
import { killImportAtPhase } from './kill-at-phase.js';

/**
 * Random histories of one party's extracts of a dataset — files uploaded (two good contents, a
 * bad one and a good workbook, under names undated, dated, a workbook's, or with an extension the
 * import does not read: text read as a workbook and a workbook read as text are refused by
 * reading; now and then with blob metadata `asof` a day after the upload, days after it, no date,
 * or before every name's date; now and then over a snapshot already standing), uploaded and
 * delivered at once, overwritten and deleted, their events delivered and delivered again, attempts
 * failing, an import killed at a phase, and deliveries held at their key read (after the claim,
 * before the rows: where a slow host sits) while others run, are deleted under them, and then
 * carry on or break off — driven through the real import on a real SQLite store and Azurite, with
 * what shared/imports/README.md ("Snapshot", "Snapshots only move forward", "Exactly once",
 * "Attempts", "Sending a rejected file again", "Failures", "Access log") and import-extract.ts's
 * module comment promise checked after every step. A delivery that runs through on its own is held
 * to the outcome the README's rules give (the model's `predict`), and a rejection to the reason its
 * run keeps; one that was held while others ran is held to the invariants only.
 *
 * Replay a failure with IMPORT_PROPERTY_SEED and IMPORT_PROPERTY_PATH (fast-check prints both);
 * IMPORT_PROPERTY_RUNS sets the number of histories (default 30, about 30 s) and
 * IMPORT_PROPERTY_STEPS the most steps in one (default 12). To hunt, raise the runs, not the
 * steps: the races below are five or six steps long.
 */

const PARTY = 'la-housing';
const MDI = 'multiple-disadvantage-indicators';
const CONTENTS = {
  A: importFixture('good.csv'),
  B: importFixture('good-second-snapshot.csv'),
  // Refused for what its bytes hold (a content reason): a copy of it is a duplicate of that.
  C: importFixture('missing-required-column.csv'),
  // A workbook: read on the row worker, its zip directory before the rows; as text, refused.
  X: importFixture('good.xlsx'),
} as const;
type Content = keyof typeof CONTENTS;
const CONTENT_KEYS = Object.keys(CONTENTS) as Content[];
const SHA = Object.fromEntries(
  CONTENT_KEYS.map((c) => [c, createHash('sha256').update(CONTENTS[c]).digest('hex')]),
) as Record<Content, string>;
const contentOf = (sha: string) => CONTENT_KEYS.find((c) => SHA[c] === sha);
/**
 * Undated (the upload's day), dated before it, a name the import refuses for its extension, and a
 * workbook's: the text contents under it, and the workbook under the others, are refused by reading
 * them (how, {@link VERDICTS} says), which is no verdict on a copy whose name reads them otherwise.
 */
const NAMES = ['x.csv', 'y.csv', 'p-20250101.csv', 'q-20250102.csv', 'x.dat', 'w.xlsx'] as const;
const blobOf = (name: string) => `${PARTY}/${MDI}/${name}`;
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
  if (declared === undefined) return asOfDate(name, {}, uploaded)!;
  return kind === 'unreadable' ? undefined : declared.slice(0, 10);
}

/** Dated after the day it was uploaded, a day's grace allowed (README, Snapshots only move forward). */
const datedInTheFuture = (asOf: string, uploaded: Date) => asOf > dayOf(uploaded.getTime() + DAY_MS);

type Step =
  | { kind: 'upload'; name: number; content: Content; asOf: AsOfKind }
  /** An upload delivered at once, as most are: what it comes to against what stands. */
  | { kind: 'send'; name: number; content: Content; asOf: AsOfKind }
  | { kind: 'deliver'; name: number }
  | { kind: 'redeliver'; n: number }
  | { kind: 'fail'; name: number }
  | { kind: 'delete'; name: number }
  | { kind: 'hold'; name: number }
  | { kind: 'release'; n: number; fail: boolean }
  | { kind: 'kill'; name: number; phase: number };

/**
 * The races the import must survive (two deliveries of one file, one breaking off while the
 * file is deleted under the other; a copy under a second name of a file just refused) need the
 * same one or two names again and again. Drawn from all five names, a history of two dozen steps
 * rarely holds a file twice and then deletes it (150 histories missed 02557ce's defect), so each
 * history draws its cast first — one name, two, or now and then all — and its steps from that
 * cast, weighted towards holds, releases and deletions, and histories are short and many.
 */
const cast: fc.Arbitrary<readonly number[]> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.nat(NAMES.length - 1)) },
  { weight: 4, arbitrary: fc.uniqueArray(fc.nat(NAMES.length - 1), { minLength: 2, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.constant(NAMES.map((_, i) => i)) },
);

function stepIn(names: readonly number[]): fc.Arbitrary<Step> {
  const name = fc.constantFrom(...names);
  const content = fc.constantFrom<Content>('A', 'A', 'B', 'C', 'X');
  const asOf = fc.oneof(
    { weight: 3, arbitrary: fc.constant<AsOfKind>('none') },
    { weight: 1, arbitrary: fc.constantFrom<AsOfKind>(...AS_OF_KINDS.filter((k) => k !== 'none')) },
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('upload' as const), name, content, asOf }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('send' as const), name, content, asOf }) },
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
  );
}

const MAX_STEPS = Number(process.env.IMPORT_PROPERTY_STEPS ?? 12);
/**
 * A snapshot already standing, now and then, loaded from a file of the cast before the history's
 * steps: an older extract, or one dated in the metadata, meets a current snapshot only after a load,
 * which few short histories reach otherwise.
 */
function standing(names: readonly number[]): fc.Arbitrary<Step[]> {
  return fc
    .record({
      name: fc.constantFrom(...names),
      content: fc.constantFrom<Content>('A', 'B', 'X'),
      asOf: fc.constantFrom<AsOfKind>('none', 'tomorrow', 'tomorrow', 'old', 'date-time'),
    })
    .map(({ name, content, asOf }) => [
      { kind: 'upload', name, content, asOf },
      { kind: 'deliver', name },
    ]);
}

const history = cast.chain((names) =>
  fc
    .tuple(
      fc.oneof({ weight: 2, arbitrary: fc.constant<Step[]>([]) }, { weight: 1, arbitrary: standing(names) }),
      fc.array(stepIn(names), { minLength: 1, maxLength: MAX_STEPS }),
    )
    .map(([before, steps]) => [...before, ...steps]),
);

interface Upload {
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
  /** The snapshot that should be current: the content of the last load, its date and upload. */
  current: { content: Content; asOf: string; uploadedAt: string } | undefined;
  /** ETags of uploads a delivery settled (loaded, rejected, duplicate): never in incoming again. */
  settled: Set<string>;
  /** Per run, each finish seen (its finished_at): one access-log entry each. */
  finishes: Map<string, Set<string>>;
  /** Per run, finishes made by an import killed after its commit: their entry is written by the next own delivery. */
  unlogged: Map<string, Set<string>>;
  /** Bytes whose unfinished run lost its last file while no delivery of it ran: nothing can finish it. */
  abandoned: Set<string>;
  delivered: string[];
}

type Predicted =
  | { outcome: 'gone' }
  | { outcome: 'loaded' }
  | { outcome: 'rejected'; reason: string }
  | { outcome: 'duplicate'; of: 'loaded' | 'rejected' };

const runOf = (h: ImportHarness, content: Content) => findRun(h.store.db, PARTY, MDI, SHA[content]);

/**
 * What the README's rules say a delivery of `name`, run through on its own, comes to: from the
 * run of its bytes as the ledger holds it, the model's current snapshot and the blob as uploaded.
 */
async function predict(h: ImportHarness, m: Model, name: string): Promise<Predicted> {
  const upload = m.incoming.get(name);
  if (upload === undefined) return { outcome: 'gone' };
  const asOf = upload.asOf;
  const uploadedAt = upload.lastModified.toISOString();
  const run = await runOf(h, upload.content);
  let attempt = 1;
  if (run !== undefined && (run.status === 'loaded' || run.status === 'rejected')) {
    const cur = m.current;
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
  const verdict = VERDICTS.get(upload.content)!.get(read)!;
  // A workbook's zip directory is read before the load compares its date with the current snapshot.
  if (read === 'xlsx' && verdict !== 'loaded') return { outcome: 'rejected', reason: verdict };
  if (datedInTheFuture(asOf, upload.lastModified)) return { outcome: 'rejected', reason: 'future-extract' };
  if (m.current !== undefined && isBehind({ asOf, uploadedAt }, m.current))
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
 * What each content comes to when read as each name reads it, on a store of its own: `loaded`, or
 * the reason it is refused for (beforeAll). A workbook's refusals here all come from its zip
 * directory, before the date is compared (checked there).
 */
const VERDICTS = new Map<Content, Map<ReadAs, string>>();

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

/** One clean load of each good content, in a store of its own. */
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
    m.current = { content: up!.content, asOf: up!.asOf!, uploadedAt: up!.lastModified.toISOString() };
  }
  if (result.outcome === 'duplicate' && result.of === 'rejected') {
    const run = (await runOf(h, up!.content))!;
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
  expect(new Map([...incoming].map(([n, e]) => [n.split('/').at(-1)!, e])), 'incoming as the model has it').toEqual(
    new Map([...m.incoming].map(([n, u]) => [n, u.etag])),
  );

  // 1. The stored snapshot is one clean load of the content that should be current, never a mixture.
  const records = await storedRecords(h.store, PARTY, MDI);
  const order = await currentSnapshotOrder(h.store.db, PARTY, MDI);
  if (m.current === undefined) {
    expect(order, 'a snapshot the model never loaded').toBeUndefined();
    expect(records).toEqual([]);
  } else {
    const run = runs.find((r) => r.id === order?.runId);
    expect(run && contentOf(run.content_sha256), 'the current snapshot’s content').toBe(m.current.content);
    // The run keeps its file's date and upload time (README, Snapshots only move forward).
    expect({ asOf: run!.as_of, uploadedAt: run!.uploaded_at }, 'the current snapshot’s date and upload').toEqual({
      asOf: m.current.asOf,
      uploadedAt: m.current.uploadedAt,
    });
    expect(new Set(records.map((r) => r.import_run_id)), 'records of one run, the current one').toEqual(
      new Set([run!.id]),
    );
    expect(normalised(records), 'the current snapshot as one clean load stores it').toEqual(
      clean.get(m.current.content),
    );
  }

  // 2. An unfinished run is unfinished only while some delivery could still finish it: one held,
  // or a file of its bytes in incoming (the queue delivers its event until it is settled).
  for (const run of runs) {
    if (run.status !== 'loading' && run.status !== 'failed') {
      m.abandoned.delete(run.content_sha256);
      continue;
    }
    const content = contentOf(run.content_sha256);
    const finishable =
      m.held.some((d) => d.upload.content === content) ||
      [...m.incoming.values()].some((u) => u.content === content) ||
      m.abandoned.has(run.content_sha256);
    expect(finishable, `run of ${content} left ${run.status} (attempt ${run.attempt}) with nothing to finish it`).toBe(
      true,
    );
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
  const run = await runOf(h, up.content);
  if (run !== undefined && (run.status === 'loading' || run.status === 'failed')) m.abandoned.add(SHA[up.content]);
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
      .run(blobOf(n), how === 'fail' ? { secrets: failingSecrets(h) } : undefined)
      .catch((err: Error) => err);
    log.push(`${how} ${n}: ${result instanceof Error ? result.message : JSON.stringify(result)}`);
    m.delivered.push(n);
    if (how === 'fail' && readsKey(predicted)) expect(result).toBeInstanceOf(ImportFailed);
    else {
      expect(result, `${how} ${n}: predicted ${JSON.stringify(predicted)}`).not.toBeInstanceOf(Error);
      expect(result, `${how} ${n}`).toMatchObject(
        predicted.outcome === 'rejected' ? { outcome: 'rejected', reasons: [predicted.reason] } : predicted,
      );
      // The run keeps its rejection's reason (README, Sending a rejected file again).
      if (predicted.outcome === 'rejected')
        expect((await runOf(h, up!.content))?.rejection_reason, `${n}'s run's rejection_reason`).toBe(predicted.reason);
    }
    await settle(h, m, n, up, result);
  };
  switch (s.kind) {
    case 'upload': {
      const n = NAMES[s.name]!;
      await losing(h, m, n, s.content);
      const up = await upload(h, n, s.content, s.asOf);
      m.incoming.set(n, up);
      m.abandoned.delete(SHA[s.content]);
      log.push(`upload ${n} = ${s.content}${up.declared === undefined ? '' : ` (asof ${up.declared})`}`);
      return false;
    }
    case 'send':
      await apply(h, m, { ...s, kind: 'upload' }, log);
      await deliver(NAMES[s.name]!, 'deliver');
      return false;
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
      const done = h.run(blobOf(n), { secrets }).catch((err: Error) => err);
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
      await killImportAtPhase(h, phase, blobOf(n));
      log.push(`kill ${n} at ${phase} (would have been ${JSON.stringify(predicted)})`);
      if (phase === 'commit') {
        const up = m.incoming.get(n)!;
        m.current = { content: up.content, asOf: up.asOf!, uploadedAt: up.lastModified.toISOString() };
      }
      return true;
    }
  }
}

describe('imports over random histories of deliveries (property)', () => {
  beforeAll(async () => {
    // In one store: first what each content is refused for as each name reads it (a refusal found
    // by reading is no verdict on a name that reads the bytes otherwise, so a later load of the
    // same bytes under a name that reads them as they are meant opens the run again), then one
    // clean load of each good content.
    const h = await createImportHarness();
    try {
      const verdicts = new Map<Content, Map<ReadAs, string>>(CONTENT_KEYS.map((c) => [c, new Map()]));
      for (const [content, read] of [
        ['A', 'xlsx'],
        ['B', 'xlsx'],
        ['C', 'xlsx'],
        ['C', 'csv'],
        ['X', 'csv'],
      ] as const) {
        const outcome = await h.importFile(blobOf(`verdict-${content}.${read}`), CONTENTS[content]);
        expect(outcome.outcome, `${content} read as ${read}`).toBe('rejected');
        verdicts.get(content)!.set(read, outcome.outcome === 'rejected' ? outcome.reasons[0]! : '');
      }
      for (const [content, read] of [
        ['A', 'csv'],
        ['B', 'csv'],
        ['X', 'xlsx'],
      ] as const) {
        const outcome = await h.importFile(blobOf(`clean-${content}.${read}`), CONTENTS[content]);
        expect(outcome.outcome, `${content} read as ${read}`).toBe('loaded');
        verdicts.get(content)!.set(read, 'loaded');
        clean.set(content, normalised(await storedRecords(h.store, PARTY, MDI)));
      }
      for (const [content, v] of verdicts) VERDICTS.set(content, v);
    } finally {
      await h.close();
    }
    // The model's premise: every refusal of a workbook here comes from its zip directory.
    for (const content of ['A', 'B', 'C'] as const) expect(VERDICTS.get(content)!.get('xlsx')).toBe('xlsx-not-a-zip');
  });
  afterAll(() => {
    clean.clear();
    VERDICTS.clear();
  });

  it('keeps its promises after every step', async () => {
    await fc.assert(
      fc.asyncProperty(history, async (steps) => {
        const h = await createImportHarness();
        const log: string[] = [];
        const m: Model = {
          incoming: new Map(),
          held: [],
          current: undefined,
          settled: new Set(),
          finishes: new Map(),
          unlogged: new Map(),
          abandoned: new Set(),
          delivered: [],
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
          await h.close();
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
