import SqliteDatabase from 'better-sqlite3';
import fc from 'fast-check';
import { Kysely, SqliteDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consentRecordsInForce, StoreConsentRegister } from '../../../shared/consents/store-consent-register.js';
import { linkPeople, type LinkDependencies } from '../../../shared/linkage/link-people.js';
import { PairKeys, personRefKeyOf } from '../../../shared/linkage/pair-key.js';
import { linkAfterImport, linkPendingRecords, relinkAll } from '../../../shared/linkage/pending-links.js';
import {
  decideCandidate,
  findCandidate,
  listCandidates,
  recordDecision,
} from '../../../shared/linkage/review-queue.js';
import type { Store } from '../../../shared/store/database.js';
import type { Database } from '../../../shared/store/schema.js';
import {
  createImportHarness,
  freshTables,
  startAfresh,
  type FreshTables,
  type ImportHarness,
} from '../imports/import-harness.js';
import { nhs, reviewLinkDeps } from '../../support/linked-people.js';
import { withAttributes } from '../../../shared/store/record-attributes.js';
import { enforceRetention } from '../../../shared/retention/enforce-retention.js';

/**
 * Random sequences of what happens to a partnership's people — sources re-sending extracts with
 * records changed, added (namesakes among them) or removed; officers deciding candidates; parties
 * recording and withdrawing consents and recording opt-outs, `pseudonymisation-key` rotated
 * between imports, the joint-system retention pass deleting people Housing no longer keeps in
 * temporary accommodation (they come back with their sources' next extracts) — driven through
 * the real import, linking pass, review queue and consent register on a real SQLite store, with the product's
 * promises checked after every step (link-people.ts, link-decisions.ts, carry-consents.ts,
 * cluster.ts). Each record carries a tag in `gender` (no rule matches on it) so the model can
 * follow one source's record of someone across the snapshots that give it a new id.
 *
 * The passes are the product's own: the import's incremental pass, the review pass after a
 * decision, the timer's pass over records left unlinked, `npm run relink`'s full pass. Any of the
 * first two may fail (the transaction rolls back, as if it had not run): the import's records then
 * wait unlinked for the next pass, the decision stands with the people as they were until the
 * agreement's next pass. Whenever no such pass is owed, the people must be those a full pass from
 * scratch forms — run on a copy of the store, so that what the incremental and review passes
 * leave behind carries into the steps that follow, as it does in production.
 */

const AGREEMENT = 'social-care-education-housing';
const DATASET = 'multiple-disadvantage-indicators';
const SOURCES = ['la-housing', 'la-childrens-social-care', 'la-education'] as const;
type Source = (typeof SOURCES)[number];
const dpo = { partyId: 'la-housing', clientId: 'dpo-client' };
const officer = { partyId: 'la-housing', clientId: 'test-reviewer', agreementId: AGREEMENT, requestId: 'r' };
const PURPOSE = 'research-evaluation';

/** Real people: two near-namesakes sharing a date of birth and postcode, and two Greens at one address. */
const PEOPLE = [
  { first: 'Jonathan', last: 'Smith', dob: '2012-03-04', postcode: 'ME14 1XX' },
  { first: 'Jonathan', last: 'Smyth', dob: '2012-03-04', postcode: 'ME14 1XX' },
  { first: 'Mary', last: 'Green', dob: '1980-05-06', postcode: 'ME15 2YY' },
  { first: 'Peter', last: 'Green', dob: '1979-07-08', postcode: 'ME15 2YY' },
] as const;
const POSTCODES = ['ME14 1XX', 'ME15 2YY', 'ME20 9AA', 'ME3 3AB'] as const;

interface ModelRecord {
  readonly tag: string;
  readonly source: Source;
  first: string;
  last: string;
  dob: string;
  postcode: string;
  nhs: string | null;
  /** The real person (an index into PEOPLE, or past it for a namesake): whose NHS number it may gain. */
  readonly who: number;
  /** Bumped when a value an officer's decision is keyed on changes (pair-key.ts). */
  version: number;
  /** The `pseudonymisation-key` rotation its identifiers were hashed under: its source's latest import's. */
  keyGen: number;
  /** Housing's `inTemporaryAccommodation`: the retention rule keeps a person while one of theirs says Y. */
  ta: boolean;
  /** In the store: a retention pass deleted it, until its source sends it again. */
  present: boolean;
}

interface Model {
  records: ModelRecord[];
  nextTag: number;
  nextNhs: number;
  files: number;
  /** Latest decision per pair of record versions: `tagA@vA|tagB@vB` (sorted). */
  decisions: Map<string, { a: string; b: string; decision: 'confirmed' | 'rejected' }>;
  optOuts: { consentId: string; tags: Set<string> }[];
  /**
   * Each consent and the records it was given for: those its person held when it was recorded,
   * as far as the product follows them. A record leaves `tags` once its source re-sends it and
   * the import does not carry its person id to the new row (a corrected name, a twin row: the
   * imports README's "Such a record keeps no consent"): for the product that row is a new record,
   * and the giver's record has left (see check 4).
   */
  consents: Map<string, { tags: Set<string>; withdrawn: boolean }>;
  /** An import's pass failed: its records wait, unlinked, for the next pass of any kind. */
  unlinked: boolean;
  /** A review pass failed: the decision stands, the people as they were until the next pass. */
  decidedUnapplied: boolean;
  /** The sources of the latest decision's two records. */
  lastDecided: Source[];
  /** Rotations of `pseudonymisation-key` so far. */
  keyGen: number;
}

type Change =
  | { kind: 'move'; k: number; postcode: number }
  | { kind: 'typo'; k: number }
  | { kind: 'nhs-add'; k: number }
  | { kind: 'nhs-remove'; k: number }
  | { kind: 'nhs-change'; k: number }
  | { kind: 'remove'; k: number }
  | { kind: 'add'; person: number; withNhs: boolean }
  /** A Housing client leaves temporary accommodation, or returns to it. */
  | { kind: 'ta'; k: number }
  /** `postcode` past POSTCODES: at the address of the record it is a namesake of (a twin row, alike but for identifiers). */
  | { kind: 'namesake'; k: number; postcode: number; withNhs: boolean };

type Step =
  /**
   * `linked` false: the import's own pass fails after its commit. `away`: of a source holding
   * neither record of the latest decision, where there is one — the import whose incremental pass
   * does not link that pair of sources again, yet owes it the decision should its review pass
   * have failed (decidedSinceLastPass in link-people.ts).
   */
  | { kind: 'resend'; source: number; away: boolean; change: Change; linked: boolean }
  /**
   * `reviewPass` false: the review pass after the decision fails (link-review-api.ts logs it and
   * goes on). `twins`: of a candidate with a record that has a twin row, where there is one.
   */
  | { kind: 'decide'; n: number; decision: 'confirmed' | 'rejected'; reviewPass: boolean; twins: boolean }
  /** The timer's pass over records no pass has linked (pending-links.ts), or `npm run relink`. */
  | { kind: 'pass'; full: boolean }
  | { kind: 'consent'; k: number }
  | { kind: 'withdraw'; n: number }
  | { kind: 'opt-out'; k: number }
  /**
   * `pseudonymisation-key` rotated (a new version in Key Vault) between imports: each source's
   * records keep their hashes under the old version until it re-sends them, and hashes of two
   * versions cannot be compared (hard-identifiers.ts).
   */
  | { kind: 'rotate' }
  /**
   * The joint-system retention pass (enforce-retention.ts): people none of whose Housing records
   * says they are in temporary accommodation are deleted, unless held (a consent, a review
   * waiting); their records come back when their sources next send them — an opted-out person's
   * under an opted-out id, by the keys the pass kept (check 3). Followed, as in production, by the
   * pass over what it left for linking again (the people it may have changed).
   */
  | { kind: 'retention' };

const k = fc.nat(20);
const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant('move' as const), k, postcode: fc.nat(3) }),
  fc.record({ kind: fc.constant('typo' as const), k }),
  fc.record({ kind: fc.constant('nhs-add' as const), k }),
  fc.record({ kind: fc.constant('nhs-remove' as const), k }),
  fc.record({ kind: fc.constant('nhs-change' as const), k }),
  fc.record({ kind: fc.constant('remove' as const), k }),
  fc.record({ kind: fc.constant('add' as const), person: fc.nat(3), withNhs: fc.boolean() }),
  fc.record({ kind: fc.constant('ta' as const), k }),
  fc.record({ kind: fc.constant('namesake' as const), k, postcode: fc.nat(5), withNhs: fc.boolean() }),
);
/** Mostly true: a pass that fails is the exception. */
const mostly = fc.nat(3).map((n) => n > 0);
const resend = (away: boolean) =>
  fc.record({
    kind: fc.constant('resend' as const),
    source: fc.nat(2),
    away: fc.constant(away),
    change,
    linked: mostly,
  });
const decide = (reviewPass: fc.Arbitrary<boolean>) =>
  fc.record({
    kind: fc.constant('decide' as const),
    n: fc.nat(5),
    // Mostly confirmed: a confirmation reaches pairs the tier does not propose (link-decisions.ts).
    decision: fc.oneof(
      { weight: 2, arbitrary: fc.constant('confirmed' as const) },
      { weight: 1, arbitrary: fc.constant('rejected' as const) },
    ),
    reviewPass,
    twins: fc.boolean(),
  });
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: resend(false) },
  { weight: 3, arbitrary: decide(fc.boolean()) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('pass' as const), full: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('consent' as const), k }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), n: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('opt-out' as const), k }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rotate' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'retention' as const }) },
);
/**
 * The steps of a history. A decision whose review pass fails is followed, often at once, by an
 * import of a source holding neither of its records: the agreement's next pass, incremental,
 * links other pairs of sources than the decided one's, and must still apply the decision there
 * (decidedSinceLastPass in link-people.ts) — a sequence too rare among steps drawn one by one.
 */
const steps = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: step.map((s) => [s]) },
      { weight: 1, arbitrary: fc.tuple(decide(fc.constant(false)), resend(true)) },
    ),
    { minLength: 1, maxLength: 7 },
  )
  .map((groups) => groups.flat());
/**
 * Initial records: a person (index into PEOPLE), a source, and whether it holds their NHS number;
 * one to three in each source. Mostly the two Jonathans, whose records the tier proposes to each
 * other: officers have candidates to decide in most histories, not a few, and a pair of sources
 * holding both is one where a rule link keeps a twin row's pair from the tier.
 */
const person = fc.oneof({ weight: 2, arbitrary: fc.nat(1) }, { weight: 1, arbitrary: fc.nat(3) });
const ofSource = (source: number) =>
  fc.array(fc.record({ person, source: fc.constant(source), withNhs: fc.boolean() }), {
    minLength: 1,
    maxLength: 3,
  });
const initial = fc.tuple(ofSource(0), ofSource(1), ofSource(2)).map((bySource) => bySource.flat());
/**
 * Twin rows among the initial records, in most histories: each alike in every value but its
 * identifiers to initial record `k` (of its source), with an NHS number of its own or none. A
 * decision is kept under the pair's key, which leaves identifiers out, so it holds for a twin's
 * pairs too — pairs the tier may not even propose (link-people.ts, twin-rows-decision.test.ts):
 * what a pass owes after a decision shows there, and a namesake step alone made twins too rarely.
 */
const twins = fc.oneof(
  { weight: 2, arbitrary: fc.array(fc.record({ k, withNhs: fc.boolean() }), { minLength: 1, maxLength: 2 }) },
  { weight: 1, arbitrary: fc.constant([]) },
);

const personNhs = (who: number) => nhs(900 + who * 7);

/**
 * A record's row; `file` (the number of the extract) goes into the tag, so that no two extracts
 * are alike (the import refuses one it has loaded before as a duplicate).
 */
function line(r: ModelRecord, file?: number): string {
  const tag = file === undefined ? r.tag : `${r.tag}.${file}`;
  const ta = r.source === 'la-housing' ? [r.ta ? 'Y' : 'N'] : [];
  return [r.first, r.last, r.dob, r.postcode, r.nhs ?? '', tag, ...ta].join(',');
}

async function send(h: ImportHarness, deps: LinkDependencies, m: Model, source: Source, linked = true): Promise<void> {
  const lines = [
    `firstName,lastName,dateOfBirth,homePostcode,nhsNumber,gender${source === 'la-housing' ? ',inTemporaryAccommodation' : ''}`,
    ...m.records.filter((r) => r.source === source).map((r) => line(r, m.files + 1)),
  ];
  for (const r of m.records) {
    if (r.source !== source) continue;
    r.keyGen = m.keyGen;
    r.present = true;
  }
  const name = `s${String(++m.files).padStart(4, '0')}.csv`;
  const before = new Map((await stored(h)).map((r) => [r.tag, r.personId]));
  const outcome = await h.importFile(`${source}/${DATASET}/${name}`, lines.join('\n'));
  expect(outcome.outcome).toBe('loaded');
  // Which rows the import followed, before any pass links them: one that did not take its
  // predecessor's person id is, for the product, a new record — its predecessor left.
  for (const r of await stored(h)) {
    if (r.personId !== null && r.personId === before.get(r.tag)) continue;
    for (const consent of m.consents.values()) consent.tags.delete(r.tag);
  }
  const runId = (outcome as { runId: string }).runId;
  if (!linked) {
    m.unlinked = true;
    return;
  }
  await linkAfterImport(deps, runId);
  passed(m);
}

/** A pass of the agreement has run: it links what waits and applies every decision (link-people.ts). */
function passed(m: Model): void {
  m.unlinked = false;
  m.decidedUnapplied = false;
}

interface Stored {
  id: string;
  tag: string;
  personId: string | null;
}

async function stored(h: Pick<ImportHarness, 'store'>): Promise<Stored[]> {
  const rows = await withAttributes(
    await h.store.db.selectFrom('source_record').select(['id', 'person_id', 'attributes']).execute(),
    h.store.db,
  );
  return rows.map((row) => ({
    id: row.id,
    tag: String(row.attributes.gender).split('.')[0]!,
    personId: row.person_id,
  }));
}

const pairOf = (a: ModelRecord, b: ModelRecord) => {
  const x = `${a.tag}@${a.version}`;
  const y = `${b.tag}@${b.version}`;
  return x < y ? `${x}|${y}` : `${y}|${x}`;
};

/** Another record of its source alike in every value a decision is keyed on (pair-key.ts). */
function hasTwin(m: Model, r: ModelRecord): boolean {
  return m.records.some(
    (x) =>
      x !== r &&
      x.source === r.source &&
      x.first === r.first &&
      x.last === r.last &&
      x.dob === r.dob &&
      x.postcode === r.postcode,
  );
}

/** One NHS number, hashed under one key version: two versions' hashes cannot be compared. */
function shareIdentifier(a: ModelRecord, b: ModelRecord): boolean {
  return a.nhs !== null && a.nhs === b.nhs && a.keyGen === b.keyGen;
}

/**
 * The people a full pass from scratch forms of the records and decisions the store holds now:
 * on a copy with no links, so that the history goes on from what the product's own passes left
 * (a full pass after every step would hide whatever an incremental or review pass leaves wrong).
 */
async function peopleFromScratch(h: ImportHarness, deps: LinkDependencies): Promise<string[]> {
  // In memory (a file per step, synced, cost more than the rest of the test): the image's header
  // marks it WAL, which a database in memory cannot be, so it is marked a rollback journal's.
  const image = h.store.sqlite!.serialize();
  image[18] = 1;
  image[19] = 1;
  const sqlite = new SqliteDatabase(image);
  const store: Store = {
    ...h.store,
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) }),
    sqlite,
    file: undefined,
    accessLogFile: undefined,
    close: async () => {},
  };
  try {
    await store.db.deleteFrom('record_link').execute();
    await linkPeople({ ...deps, store }, AGREEMENT, 'full');
    return grouping(await stored({ store }));
  } finally {
    await store.db.destroy();
  }
}

/** The partition of record ids into people, as sorted strings. */
function grouping(records: readonly Stored[]): string[] {
  const groups = new Map<string, string[]>();
  for (const r of records) {
    const key = r.personId ?? `unlinked:${r.id}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [r.tag]);
    else g.push(r.tag);
  }
  return [...groups.values()].map((g) => g.sort().join(',')).sort();
}

async function checkInvariants(h: ImportHarness, deps: LinkDependencies, consents: StoreConsentRegister, m: Model) {
  const rows = await stored(h);
  const byTag = new Map(rows.map((r) => [r.tag, r]));
  const modelOf = new Map(m.records.map((r) => [r.tag, r]));
  expect(rows.length).toBe(m.records.filter((r) => r.present).length);
  // Records an import loaded and no pass has linked yet have no person (an import's pass failed).
  if (!m.unlinked) for (const r of rows) expect(r.personId, `record ${r.tag} has a person`).not.toBeNull();
  const linked = rows.filter((r) => r.personId !== null);
  const people = new Map<string, ModelRecord[]>();
  for (const r of linked) {
    const list = people.get(r.personId!) ?? [];
    list.push(modelOf.get(r.tag)!);
    people.set(r.personId!, list);
  }

  for (const [personId, members] of people) {
    for (let x = 0; x < members.length; x++) {
      for (let y = x + 1; y < members.length; y++) {
        const a = members[x]!;
        const b = members[y]!;
        // 2. Two different NHS numbers are never one person — as far as the store can tell: hashed
        // under two key versions, they may name one person or two (hard-identifiers.ts).
        if (a.nhs !== null && b.nhs !== null && a.keyGen === b.keyGen)
          expect(a.nhs === b.nhs, `${a.tag} and ${b.tag}: two NHS numbers in ${personId}`).toBe(true);
        // 1. A pair an officer rejected (as they are now) is never one person, unless they share an
        // identifier — once a pass has followed the decision.
        if (m.decidedUnapplied) continue;
        const decided = m.decisions.get(pairOf(a, b));
        if (decided?.decision === 'rejected' && !shareIdentifier(a, b))
          expect.fail(`${a.tag} and ${b.tag}: rejected, yet one person ${personId}`);
      }
    }
  }

  // 3. An opt-out is never lost: every record its person held, still sent, is under an opted-out id.
  for (const optOut of m.optOuts) {
    for (const tag of optOut.tags) {
      const r = byTag.get(tag);
      if (r?.personId == null) continue;
      expect(await consents.isOptedOut(r.personId!, new Date()), `opt-out ${optOut.consentId} lost for ${tag}`).toBe(
        true,
      );
    }
  }

  // 4. A consent in force for a person id applies only to records of the person it was recorded for
  // — while the store holds any of them. A pass that merges people carries the consent to the
  // person formed (README: each keeps the other's consents), and when the giver's own records
  // then leave (their source's next snapshot drops them), the person keeps its id, held by the
  // records it was merged with, and the consent with it: no split took the giver apart from them.
  // So too when the source sends the giver's record again in a form the import cannot follow
  // (seed 1161847104: a surname corrected, a twin row): the new row is a record the product has
  // never seen, which keeps no consent (README), and for the product the giver's record has left,
  // as though dropped — it cannot tell the two apart. Only a record the import followed keeps
  // its place among the giver's (Model.consents); one a pass then takes apart from the person is
  // a split, which must leave the consent in force on no part.
  const inForce = await consentRecordsInForce(h.store.db)
    .where('r.kind', '=', 'consent')
    .select(['r.consent_id', 'r.subject_key'])
    .execute();
  for (const c of inForce) {
    const holders = people.get(c.subject_key);
    if (holders === undefined) continue;
    const given = m.consents.get(c.consent_id);
    expect(given, `consent ${c.consent_id} known`).toBeDefined();
    expect(given!.withdrawn, `consent ${c.consent_id} withdrawn, yet in force`).toBe(false);
    if (![...given!.tags].some((tag) => byTag.has(tag))) continue;
    expect(
      holders.some((r) => given!.tags.has(r.tag)),
      `consent ${c.consent_id} (given for ${[...given!.tags].join(',')}) in force on ${holders.map((r) => r.tag).join(',')}`,
    ).toBe(true);
  }

  // 5. Whatever passes formed them, the people are those a full pass from scratch forms — once no
  // pass is owed (a failed one's work waits for the next).
  if (m.unlinked || m.decidedUnapplied) return;
  expect(grouping(rows), 'the passes so far formed other people than a full pass would').toEqual(
    await peopleFromScratch(h, deps),
  );
}

async function apply(
  h: ImportHarness,
  deps: LinkDependencies,
  consents: StoreConsentRegister,
  m: Model,
  s: Step,
  log: string[],
): Promise<void> {
  const pick = (n: number) => (m.records.length === 0 ? undefined : m.records[n % m.records.length]!);
  const personIdOf = async (tag: string) => (await stored(h)).find((r) => r.tag === tag)?.personId ?? null;
  const tagsOf = async (personId: string) =>
    new Set((await stored(h)).filter((r) => r.personId === personId).map((r) => r.tag));
  /**
   * Records a consent or opt-out for the person of the record tagged `tag`, with the tags that
   * person holds; nothing for a record no pass has linked yet (no lookup finds it).
   */
  const recordFor = async (tag: string, kind: 'consent' | 'opt-out', purposeId: string | null, evidenceRef: string) => {
    const subject = await personIdOf(tag);
    if (subject === null) return undefined;
    const held = await tagsOf(subject);
    const recorded = await consents.record({
      subjectKey: subject,
      kind,
      purposeId,
      evidenceRef,
      by: dpo,
      at: new Date(),
    });
    return { recorded, held };
  };
  switch (s.kind) {
    case 'resend': {
      const away = SOURCES.filter((x) => !m.lastDecided.includes(x));
      const source = s.away && away.length > 0 ? away[s.source % away.length]! : SOURCES[s.source]!;
      const own = m.records.filter((r) => r.source === source);
      const c = s.change;
      const target = 'k' in c && own.length > 0 ? own[c.k % own.length]! : undefined;
      switch (c.kind) {
        case 'move':
          if (target === undefined || target.postcode === POSTCODES[c.postcode]) return;
          target.postcode = POSTCODES[c.postcode]!;
          target.version++;
          break;
        case 'ta':
          if (target === undefined || source !== 'la-housing') return;
          target.ta = !target.ta;
          break;
        case 'typo':
          if (target === undefined) return;
          target.last = target.last.endsWith('e') ? target.last.slice(0, -1) : `${target.last}e`;
          target.version++;
          break;
        case 'nhs-add':
          if (target === undefined || target.nhs !== null) return;
          target.nhs = personNhs(target.who);
          break;
        case 'nhs-remove':
          if (target === undefined || target.nhs === null) return;
          target.nhs = null;
          break;
        case 'nhs-change':
          if (target === undefined) return;
          target.nhs = nhs(2000 + m.nextNhs++ * 7);
          break;
        case 'remove':
          if (target === undefined || own.length < 2) return;
          m.records.splice(m.records.indexOf(target), 1);
          break;
        case 'add': {
          const p = PEOPLE[c.person]!;
          m.records.push({
            tag: `t${m.nextTag++}`,
            source,
            ...p,
            nhs: c.withNhs ? personNhs(c.person) : null,
            who: c.person,
            version: 0,
            keyGen: m.keyGen,
            ta: true,
            present: true,
          });
          break;
        }
        case 'namesake': {
          const twin = c.postcode >= POSTCODES.length;
          const of = twin ? target : pick(c.k);
          if (of === undefined) return;
          const who = 10 + m.nextTag;
          m.records.push({
            tag: `t${m.nextTag++}`,
            source,
            first: of.first,
            last: of.last,
            dob: of.dob,
            postcode: twin ? of.postcode : POSTCODES[c.postcode]!,
            nhs: c.withNhs ? personNhs(who) : null,
            who,
            version: 0,
            keyGen: m.keyGen,
            ta: true,
            present: true,
          });
          break;
        }
      }
      log.push(
        `${source} re-sends: ${JSON.stringify(c)} → ${m.records
          .filter((r) => r.source === source)
          .map((r) => line(r))
          .join(' / ')}${s.linked ? '' : ' (its pass fails)'}`,
      );
      await send(h, deps, m, source, s.linked);
      return;
    }
    case 'decide': {
      const listed = (await listCandidates(h.store, AGREEMENT, [DATASET], { limit: 100 })).candidates;
      const open = (await Promise.all(listed.map((c) => findCandidate(h.store, c.candidateId)))).filter(
        (c) => c !== undefined,
      );
      const recordsOf = (c: (typeof open)[number]) =>
        c.recordsInFull.map((r) => m.records.find((x) => x.tag === String(r.attributes.gender).split('.')[0])!);
      const withTwin = open.filter((c) => recordsOf(c).some((r) => hasTwin(m, r)));
      const among = s.twins && withTwin.length > 0 ? withTwin : open;
      if (among.length === 0) return;
      const candidate = among[s.n % among.length]!;
      const [a, b] = recordsOf(candidate);
      const review = { decision: s.decision, by: officer, at: new Date() };
      if (s.reviewPass) {
        expect((await decideCandidate(deps, candidate, review)).outcome).toBe('decided');
        passed(m);
      } else {
        // Committed as the API commits it; the review pass after it fails (rolls back).
        const identity = PairKeys.identity(await personRefKeyOf(deps.secrets));
        const outcome = await h.store.db
          .transaction()
          .execute((trx) => recordDecision(trx, candidate, review, identity));
        expect(outcome.outcome).toBe('decided');
        m.decidedUnapplied = true;
      }
      m.decisions.set(pairOf(a!, b!), { a: a!.tag, b: b!.tag, decision: s.decision });
      m.lastDecided = [a!.source, b!.source];
      log.push(`officer ${s.decision} ${a!.tag}–${b!.tag}${s.reviewPass ? '' : ' (review pass fails)'}`);
      return;
    }
    case 'pass': {
      if (s.full) {
        await relinkAll(deps, AGREEMENT);
        passed(m);
        log.push('full pass');
      } else {
        // The timer runs a pass only where records wait unlinked.
        const ran = (await linkPendingRecords(deps)).length > 0;
        expect(ran, 'the timer links what waits').toBe(m.unlinked);
        if (ran) passed(m);
        log.push(`timer${ran ? ' pass' : ': nothing waits'}`);
      }
      return;
    }
    case 'consent': {
      const r = pick(s.k);
      if (r === undefined) return;
      const given = await recordFor(r.tag, 'consent', PURPOSE, 'form');
      if (given === undefined) return;
      const { recorded, held } = given;
      if (!m.consents.has(recorded.consentId)) m.consents.set(recorded.consentId, { tags: held, withdrawn: false });
      log.push(`consent ${recorded.alreadyInForce ? 'again' : 'recorded'} for ${[...held].join(',')}`);
      return;
    }
    case 'withdraw': {
      const open = [...m.consents].filter(([, c]) => !c.withdrawn);
      if (open.length === 0) return;
      const [consentId, c] = open[s.n % open.length]!;
      await consents.withdraw(consentId, dpo, new Date());
      c.withdrawn = true;
      log.push(`consent for ${[...c.tags].join(',')} withdrawn`);
      return;
    }
    case 'rotate': {
      h.secrets.rotate('pseudonymisation-key');
      m.keyGen++;
      log.push('pseudonymisation-key rotated');
      return;
    }
    case 'retention': {
      const [summary] = await enforceRetention(h.retentionDeps(), AGREEMENT);
      const held = new Set((await stored(h)).map((r) => r.tag));
      const deleted = m.records.filter((r) => r.present && !held.has(r.tag));
      for (const r of deleted) r.present = false;
      // An opt-out holds no one: an opted-out person the rule does not keep goes, their keys kept.
      const optedOutDeleted = deleted.filter((r) => m.optOuts.some((optOut) => optOut.tags.has(r.tag)));
      if (optedOutDeleted.length > 0)
        expect(
          summary?.optedOutKeysKept,
          `${optedOutDeleted.map((r) => r.tag).join(',')} deleted, keys kept`,
        ).toBeGreaterThan(0);
      // Then, as its callers do (catchUpRetention, the import's afterLoad), the pass over what
      // waits: what the deletion left for linking again, and whatever an import's failed pass left.
      const ran = (await linkPendingRecords(deps)).length > 0;
      if (ran) passed(m);
      else expect(m.unlinked, 'the timer links what waits').toBe(false);
      log.push(
        `retention ${summary?.outcome ?? 'none'}: ${deleted.map((r) => r.tag).join(',') || 'nothing'} deleted${ran ? ', then a pass' : ''}`,
      );
      return;
    }
    case 'opt-out': {
      const r = pick(s.k);
      if (r === undefined) return;
      const given = await recordFor(r.tag, 'opt-out', null, 'nddo');
      if (given === undefined) return;
      const { recorded, held } = given;
      m.optOuts.push({ consentId: recorded.consentId, tags: held });
      log.push(`opt-out for ${[...held].join(',')}`);
      return;
    }
  }
}

/**
 * The test's time limit: ten minutes, or LINKAGE_PROPERTY_TIMEOUT (ms). A hunt of 150 histories
 * takes 3–4 minutes on a quiet machine and passed ten minutes on one shared with other test runs
 * (load average near 20; seed 1313, which passes in 188 s alone), where the timeout hid whether
 * any history had failed.
 */
const TIME_LIMIT_MS = Number(process.env.LINKAGE_PROPERTY_TIMEOUT ?? 600_000);

describe('linkage over random histories (property)', () => {
  let h: ImportHarness;
  let fresh: FreshTables;
  beforeAll(async () => {
    h = await createImportHarness();
    fresh = freshTables(h);
  });
  afterAll(async () => h?.close());

  it('keeps its promises after every step', { timeout: TIME_LIMIT_MS }, async () => {
    await fc.assert(
      fc.asyncProperty(initial, twins, steps, async (start, twinsOf, steps) => {
        await startAfresh(h, fresh);
        const log: string[] = [];
        try {
          // Every best-scoring blocked pair is a candidate, so officers have some to decide.
          const deps = reviewLinkDeps(h);
          const consents = new StoreConsentRegister(h.store);
          const m: Model = {
            records: [
              ...start.map((r, n) => ({
                tag: `t${n}`,
                source: SOURCES[r.source]!,
                ...PEOPLE[r.person]!,
                nhs: r.withNhs ? personNhs(r.person) : null,
                who: r.person,
                version: 0,
                keyGen: 0,
                ta: true,
                present: true,
              })),
              ...twinsOf.map((twin, n) => {
                const of = start[twin.k % start.length]!;
                const who = 10 + start.length + n;
                return {
                  tag: `t${start.length + n}`,
                  source: SOURCES[of.source]!,
                  ...PEOPLE[of.person]!,
                  nhs: twin.withNhs ? personNhs(who) : null,
                  who,
                  version: 0,
                  keyGen: 0,
                  ta: true,
                  present: true,
                };
              }),
            ],
            nextTag: start.length + twinsOf.length,
            nextNhs: 0,
            files: 0,
            decisions: new Map(),
            optOuts: [],
            consents: new Map(),
            unlinked: false,
            decidedUnapplied: false,
            lastDecided: [],
            keyGen: 0,
          };
          log.push(`start: ${m.records.map((r) => `${r.source} ${line(r)}`).join(' / ')}`);
          for (const source of SOURCES) if (m.records.some((r) => r.source === source)) await send(h, deps, m, source);
          await checkInvariants(h, deps, consents, m);
          for (const s of steps) {
            await apply(h, deps, consents, m, s, log);
            await checkInvariants(h, deps, consents, m);
          }
        } catch (err) {
          (err as Error).message += `\n${log.join('\n')}`;
          throw err;
        }
      }),
      {
        numRuns: Number(process.env.LINKAGE_PROPERTY_RUNS ?? 30),
        endOnFailure: false,
        // Replayed before the random histories: seed 5252 found the model wrong here (its check 4
        // wanted the consent gone from the person once its giver's record t2 had left, though
        // the officer's confirmation had merged t2 into that person and no split followed). A path
        // fast-check prints counts it: one printed before it was added replays one higher. Seed
        // 1161847104 found check 4 wrong again: it wanted the consent gone from the person once
        // housing re-sent its giver's record with a corrected surname, which the import cannot
        // follow (the third example, the second the same history at its simplest: no twin rows,
        // the import's pass run). The fourth is that history with the record followed (by its NHS
        // number): the pass splits the person, and the consent must be in force on neither part.
        examples: [
          [
            [
              { person: 0, source: 0, withNhs: false },
              { person: 0, source: 1, withNhs: false },
              { person: 0, source: 2, withNhs: false },
              { person: 0, source: 2, withNhs: false },
            ],
            [],
            [
              { kind: 'consent', k: 2 },
              { kind: 'decide', n: 0, decision: 'confirmed', reviewPass: true, twins: false },
              { kind: 'resend', source: 2, away: false, change: { kind: 'remove', k: 0 }, linked: true },
            ],
          ],
          [
            [
              { person: 0, source: 0, withNhs: false },
              { person: 1, source: 1, withNhs: false },
              { person: 2, source: 2, withNhs: false },
            ],
            [],
            [
              { kind: 'consent', k: 0 },
              { kind: 'decide', n: 0, decision: 'confirmed', reviewPass: true, twins: false },
              { kind: 'resend', source: 0, away: false, change: { kind: 'typo', k: 0 }, linked: true },
            ],
          ],
          [
            [
              { person: 0, source: 0, withNhs: false },
              { person: 0, source: 1, withNhs: false },
              { person: 0, source: 2, withNhs: false },
            ],
            [{ k: 0, withNhs: false }],
            [
              { kind: 'consent', k: 0 },
              { kind: 'decide', n: 0, decision: 'confirmed', reviewPass: true, twins: false },
              { kind: 'resend', source: 0, away: false, change: { kind: 'typo', k: 0 }, linked: false },
            ],
          ],
          [
            [
              { person: 0, source: 0, withNhs: true },
              { person: 1, source: 1, withNhs: false },
              { person: 1, source: 2, withNhs: false },
            ],
            [],
            [
              { kind: 'consent', k: 0 },
              { kind: 'decide', n: 0, decision: 'confirmed', reviewPass: true, twins: false },
              { kind: 'resend', source: 0, away: false, change: { kind: 'typo', k: 0 }, linked: true },
            ],
          ],
        ],
        ...(process.env.LINKAGE_PROPERTY_SEED
          ? { seed: Number(process.env.LINKAGE_PROPERTY_SEED), path: process.env.LINKAGE_PROPERTY_PATH }
          : {}),
      },
    );
  });
});
