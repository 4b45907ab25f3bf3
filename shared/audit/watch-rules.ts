/**
 * Watch rules over the access log: patterns a DPO would want to hear about before a partner
 * does. Each rule reads the log (never the people data) and reports findings — which client,
 * which window, how many, against what baseline. `runWatch` turns findings into alert records,
 * once per rule, client and window however often it runs (alerts.ts), with a warning log line
 * of ids and counts.
 *
 * The rules look back a little further than the timer interval (LOOKBACK_MS), so a missed or
 * late run still sees the end of the window it would have seen.
 *
 * Each rule counts a client's entries per agreement, by whose business each entry is
 * (entry-agreements.ts, the rule the DPO's views follow), and each finding is of one agreement:
 * a party may sign several agreements, and counted across them an alert was shown to the DPOs
 * of all of them — the research agreement's DPO saw, and could open a breach on, a run made
 * entirely of the party's Keyways lookups (found by a review). An entry that is the business of
 * several agreements (its party's own conduct, under no agreement's purpose) counts in each.
 */
import { sql, type Expression, type ExpressionBuilder, type Kysely, type RawBuilder, type SqlBool } from 'kysely';
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Logger } from '../logging.js';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { alertedClients, alertIdFor, alertWindows, decisionTime, raiseAlert, type Alert } from './alerts.js';
import { agreementsOfEntry, type EntryOwnership } from './entry-agreements.js';
import { outOfHoursPeriods, UK_OFFICE_HOURS, type Period, type WorkingHours } from './working-hours.js';

export const WATCH_RULES = ['lookup-volume', 'out-of-hours', 'no-match-run', 'special-category-volume'] as const;
export type WatchRule = (typeof WATCH_RULES)[number];

/** Access-log actions that look a person up (request-pipeline actions of the people APIs). */
export const LOOKUP_ACTIONS: readonly string[] = ['person.search', 'person.view', 'person.duplicate-check'];
const DUPLICATE_CHECK = 'person.duplicate-check';

/**
 * Reason codes of the second entry a call can leave under its request id (request-pipeline.ts):
 * `response-not-sent` after a lookup whose entry the log's writer failed to confirm,
 * `change-not-committed` after a change that did not commit. Each follows one call's entry and
 * is about the same person and datasets, so counted as a lookup it made one search two in a
 * DPO's alerts (found by a review): the rules leave them out, as they do not break a no-match run
 * either. But the first entry may never have been written (the writer failed on it, and took the
 * follow-up), and left out then, the follow-up was the only trace of a lookup that was made all the
 * same, and the call went uncounted by every rule: a lone follow-up is counted as its call's one
 * lookup entry (isLookupEntry).
 */
export const FOLLOW_UP_REASONS: readonly string[] = ['response-not-sent', 'change-not-committed'];
const RESPONSE_NOT_SENT = 'response-not-sent';

/**
 * Reason codes of a lookup that matched nobody, or nobody for certain (shared/people/find-person.ts):
 * a person the caller's identifiers contradict is a miss too, and a run of them is as much a probe.
 */
export const NO_MATCH_REASONS: readonly string[] = [
  'no-match',
  'ambiguous',
  'identifier-conflict',
  'date-of-birth-conflict',
];

export interface WatchThresholds {
  /** lookup-volume: fires when any sixty minutes' lookups exceed this multiple of the client's hourly average… */
  volumeFactor: number;
  /** …and are at least this many (a quiet client's average is near zero). */
  volumeFloor: number;
  /** Days before the window that make the baseline (its average hourly volume). */
  baselineDays: number;
  /** out-of-hours: lookups in one out-of-hours period that raise an alert. */
  outOfHoursMinimum: number;
  workingHours: WorkingHours;
  /** no-match-run: consecutive no-match/ambiguous lookups by one client. */
  noMatchRun: number;
  /** special-category-volume: as volumeFactor/volumeFloor, for entries releasing special-category fields in any sixty minutes. */
  specialCategoryFactor: number;
  specialCategoryFloor: number;
}

export const DEFAULT_THRESHOLDS: WatchThresholds = {
  volumeFactor: 5,
  volumeFloor: 100,
  baselineDays: 7,
  outOfHoursMinimum: 1,
  workingHours: UK_OFFICE_HOURS,
  noMatchRun: 10,
  specialCategoryFactor: 5,
  specialCategoryFloor: 20,
};

/** An hour and a timer interval: a run just after the hour still closes the previous hour. */
export const LOOKBACK_MS = 65 * 60_000;

/**
 * The party the request path logs for a call without a valid token (request-pipeline.ts). Such
 * calls are refused before any lookup and belong to no agreement, so no DPO could see an alert
 * about them: the rules leave them out.
 */
const UNAUTHENTICATED_PARTY = 'unauthenticated';

/** A no-match run longer than this is reported at this length: the scan (of misses and matches only) is bounded. */
const MAX_RUN_SCAN = 50_000;

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export interface Finding {
  rule: WatchRule;
  clientId: string;
  partyId: string;
  /** The agreement whose business the counted entries are: its DPOs are the ones told. */
  agreementId: string;
  /** For special-category-volume: the roles the counted entries were made under, joined by commas (roleDetail). */
  role: string | null;
  windowStart: string;
  windowEnd: string;
  count: number;
  /** Average entries an hour over the baseline period, where the rule has one. */
  baseline: number | null;
  /** What makes this firing the same firing next time: the window start, or a run's first seq. */
  windowKey: string;
}

const iso = (d: Date) => d.toISOString();
const minDate = (a: Date, b: Date) => (a < b ? a : b);

/** Every rule, evaluated as of `at`. */
export async function findSuspiciousActivity(
  store: Store,
  agreements: AgreementSet,
  at: Date,
  thresholds: WatchThresholds = DEFAULT_THRESHOLDS,
): Promise<Finding[]> {
  const since = new Date(at.getTime() - LOOKBACK_MS);
  return [
    ...(await lookupVolume(store, agreements, since, at, thresholds)),
    ...(await outOfHours(store, agreements, since, at, thresholds)),
    ...(await noMatchRuns(store, agreements, since, at, thresholds)),
    ...(await specialCategoryVolume(store, agreements, specialCategoryFields(agreements), since, at, thresholds)),
  ];
}

export interface WatchRun {
  evaluatedAt: string;
  /** The agreement of each finding, in order: a DPO is told only the findings of the agreements they audit. */
  findingAgreements: string[];
  /** Alerts raised by this run; findings already alerted for the same window are not repeated. */
  raised: Alert[];
}

export async function runWatch(
  deps: { store: Store; agreements: AgreementSet; logger: Logger },
  at: Date,
  thresholds: WatchThresholds = DEFAULT_THRESHOLDS,
): Promise<WatchRun> {
  const findings = await findSuspiciousActivity(deps.store, deps.agreements, at, thresholds);
  const run = await recordFindings(deps.store, findings, at);
  logRaised(deps.logger, run.raised);
  return run;
}

/**
 * The findings as alert records (alerts.ts), written in `db`: a transaction of `store` that the
 * caller commits, where the run must commit with its access-log entry or not at all (the API's
 * writeAhead). The findings are read before it: on SQLite the store has one connection, held by
 * the transaction.
 */
export async function recordFindings(
  store: Store,
  findings: readonly Finding[],
  at: Date,
  db: Kysely<Database> = store.db,
): Promise<WatchRun> {
  const raised: Alert[] = [];
  for (const finding of findings) {
    const alert = await raiseAlert(store, finding, at, db);
    if (alert) raised.push(alert);
  }
  return { evaluatedAt: iso(at), findingAgreements: findings.map((f) => f.agreementId), raised };
}

/** The warning line of each alert raised, of ids and counts: once its record is committed. */
export function logRaised(logger: Logger, raised: readonly Alert[]): void {
  for (const alert of raised) {
    logger.warn('audit.alert-raised', {
      alertId: alert.id,
      rule: alert.rule,
      clientId: alert.clientId,
      partyId: alert.partyId,
      agreementId: alert.agreementId,
      role: alert.role,
      windowStart: alert.windowStart,
      windowEnd: alert.windowEnd,
      count: alert.count,
      baseline: alert.baseline,
    });
  }
}

/** `dataset.field` names the agreements classify as special category, as access_log.fields holds them. */
export function specialCategoryFields(agreements: AgreementSet): string[] {
  const names: string[] = [];
  for (const { agreement } of agreements.all()) {
    for (const dataset of agreement.datasets) {
      for (const field of dataset.fields) {
        if (agreements.field(dataset.id, field.name)?.classification === 'special-category')
          names.push(`${dataset.id}.${field.name}`);
      }
    }
  }
  return names;
}

/** The columns an entry's agreements are decided by, to group counts by (entry-agreements.ts). */
const OWNERSHIP = ['party_id', 'purpose', 'datasets', 'roles'] as const;

interface AgreementCount {
  clientId: string;
  partyId: string;
  agreementId: string;
  count: number;
}

/**
 * Counts grouped by client and OWNERSHIP, summed per client and agreement, keyed by both
 * (`client\u0000agreement`).
 */
function countsByAgreement(
  agreements: AgreementSet,
  rows: readonly (EntryOwnership & { client_id: string; n: number | string | bigint })[],
): Map<string, AgreementCount> {
  const counts = new Map<string, AgreementCount>();
  for (const row of rows) {
    for (const agreementId of agreementsOfEntry(agreements, row)) {
      const id = `${row.client_id}\u0000${agreementId}`;
      const entry = counts.get(id) ?? { clientId: row.client_id, partyId: row.party_id, agreementId, count: 0 };
      entry.count += Number(row.n);
      counts.set(id, entry);
    }
  }
  return counts;
}

/** The entries a rule counts, as a condition on an access-log row. */
type Counted = (eb: ExpressionBuilder<Database, 'access_log'>) => Expression<SqlBool>;

/**
 * Whether the access-log rows aliased `entry` and `followUp` could be one call's entry and its
 * follow-up: the follow-up is written with the purpose, subject and datasets of the entry it
 * follows, and only an allowed entry is followed up (request-pipeline.ts). The subject is null
 * in both for a duplicate check that found nobody.
 */
function followsUp(entry: string, followUp: string): RawBuilder<SqlBool> {
  const column = (alias: string, name: string) => sql.ref(`${alias}.${name}`);
  const same = (name: string) => sql`${column(entry, name)} = ${column(followUp, name)}`;
  const subject = (alias: string) => column(alias, 'subject_ref');
  return sql<SqlBool>`(${column(entry, 'decision')} = 'allow' and ${same('purpose')} and ${same('datasets')} and (${same('subject_ref')} or (${subject(entry)} is null and ${subject(followUp)} is null)))`;
}

/**
 * Entries of a lookup, one a call: its own entry, or its follow-up (FOLLOW_UP_REASONS) where the
 * log holds no entry of the call before it. A call's entry is written before its follow-up, so
 * one is looked for under the same request id, client and action and an earlier sequence number
 * (an index seek, migration 0035, asked only of follow-ups). Not any entry under the request id:
 * it is the caller's `X-Request-Id`, and a retry sent under it after a 503 is a lookup of its own
 * whose entry, coming after the follow-up, would have hidden the lookup that failed. Nor any
 * earlier one: an entry followed up before this follow-up is an earlier try's, whose answer was
 * lost (its entry and its own follow-up both written), and it hid the retry whose entry the
 * writer then lost, a search counted by no rule (found by a review). Nor one the follow-up could
 * not be of (followsUp): a client may send one and the same `X-Request-Id` with every call, and
 * the entry of its last call, a search of someone else answered and never followed up, hid the
 * search whose own entry was lost, counted by no rule (found by a review). An entry of the same
 * subject, purpose and datasets under the same id, answered, still hides it: nothing in the log
 * tells them apart but how soon the follow-up came.
 */
const isLookupEntry: Counted = (eb) =>
  eb.and([
    eb('action', 'in', LOOKUP_ACTIONS),
    eb.or([
      eb('reason_code', 'not in', FOLLOW_UP_REASONS),
      eb.not(
        eb.exists(
          eb
            .selectFrom('access_log as call_entry')
            .select('call_entry.seq')
            .whereRef('call_entry.request_id', '=', 'access_log.request_id')
            .whereRef('call_entry.client_id', '=', 'access_log.client_id')
            .whereRef('call_entry.action', '=', 'access_log.action')
            .whereRef('call_entry.seq', '<', 'access_log.seq')
            .where('call_entry.reason_code', 'not in', FOLLOW_UP_REASONS)
            .where(followsUp('call_entry', 'access_log'))
            .where((inner) =>
              inner.not(
                inner.exists(
                  inner
                    .selectFrom('access_log as followed')
                    .select('followed.seq')
                    .whereRef('followed.request_id', '=', 'access_log.request_id')
                    .whereRef('followed.client_id', '=', 'access_log.client_id')
                    .whereRef('followed.action', '=', 'access_log.action')
                    .whereRef('followed.seq', '>', 'call_entry.seq')
                    .whereRef('followed.seq', '<', 'access_log.seq')
                    .where('followed.reason_code', 'in', FOLLOW_UP_REASONS)
                    .where(followsUp('call_entry', 'followed')),
                ),
              ),
            ),
        ),
      ),
    ]),
  ]);

/** {@link isLookupEntry}, by a caller with a valid token: what lookup-volume, out-of-hours and no-match-run count. */
const isLookup: Counted = (eb) => eb.and([isLookupEntry(eb), eb('party_id', '!=', UNAUTHENTICATED_PARTY)]);

/** The clients that made at least `minimum` of the entries counted in [from, to). */
async function busyClients(store: Store, counted: Counted, from: Date, to: Date, minimum: number): Promise<string[]> {
  const totals = await store.db
    .selectFrom('access_log')
    .select('client_id')
    .where('time', '>=', iso(from))
    .where('time', '<', iso(to))
    .where(counted)
    .groupBy('client_id')
    .having((eb) => eb.fn.countAll(), '>=', minimum)
    .execute();
  return totals.map((row) => row.client_id);
}

/**
 * The entries counted in [from, to) of the clients that made at least `minimum` in all, per
 * client and agreement. An entry counts in each of its agreements, so no agreement's count
 * exceeds its client's: the clients below the minimum are left out before the finer count.
 */
async function entriesByAgreement(
  store: Store,
  agreements: AgreementSet,
  counted: Counted,
  from: Date,
  to: Date,
  minimum: number,
  clientId?: string,
): Promise<Map<string, AgreementCount>> {
  const busy = clientId === undefined ? await busyClients(store, counted, from, to, minimum) : [clientId];
  if (busy.length === 0) return new Map();
  const rows = await store.db
    .selectFrom('access_log')
    .select((eb) => ['client_id', ...OWNERSHIP, eb.fn.countAll<number>().as('n')])
    .where('time', '>=', iso(from))
    .where('time', '<', iso(to))
    .where(counted)
    .where('client_id', 'in', busy)
    .groupBy(['client_id', ...OWNERSHIP])
    .execute();
  return countsByAgreement(agreements, rows);
}

/**
 * A client's lookups under one agreement in any sixty minutes far above its average hour there
 * over the previous days. Counted by clock hour, a burst across the hour (10:50–11:10) was under
 * the floor in both hours it fell in and raised nothing; a DPO reads the floor as "so many in an
 * hour", whichever hour (see slidingVolume).
 */
function lookupVolume(
  store: Store,
  agreements: AgreementSet,
  since: Date,
  at: Date,
  t: WatchThresholds,
): Promise<Finding[]> {
  return slidingVolume(store, agreements, since, at, t.baselineDays, {
    rule: 'lookup-volume',
    counted: isLookup,
    floor: t.volumeFloor,
    factor: t.volumeFactor,
    detail: () => null,
  });
}

/** A rule on a client's entries in any sixty minutes against its average hour: the volume rules. */
interface VolumeRule {
  rule: WatchRule;
  counted: Counted;
  /** The window raises an alert at this many entries at least… */
  floor: number;
  /** …and above this multiple of the client's hourly average under the agreement. */
  factor: number;
  /** The alert's `role`, from the roles the window's entries were made under. */
  detail: (roles: ReadonlySet<string>) => string | null;
}

/**
 * The windows of the lookback whose entries (those the rule counts) are over its thresholds, per
 * client and agreement, against the client's average hour there over the days before the
 * lookback (read once per client). The log is counted by the minute, and each minute with
 * entries starts a window of the sixty minutes from it: the first window over the thresholds
 * raises the alert, and it is that window's alert, grown as the window fills, while the burst
 * goes on; the entries after its end start the next window (see burstWindows).
 */
async function slidingVolume(
  store: Store,
  agreements: AgreementSet,
  since: Date,
  at: Date,
  baselineDays: number,
  v: VolumeRule,
): Promise<Finding[]> {
  // From a whole minute, so that the minute a window starts in is counted whole.
  const from = new Date(Math.floor(since.getTime() / MINUTE_MS) * MINUTE_MS);
  // Windows start up to an hour before the lookback: those are the windows whose sixty minutes
  // reach into it, and any of them may have gone over since the run before. Started from the
  // lookback alone, a burst put over by lookups made while the timer was stopped (a restart, a
  // deployment, a slow run) more than a few minutes went unalerted: 50 lookups at 10:00 and 50
  // at 10:59:30, the last run before the stop at 10:59:15, were over only in the sixty minutes
  // from 10:00, which a run after a stop of fifteen minutes, looking back to 10:09, never placed
  // (found by a review). A window there that was over before is an alert already, and found
  // again to grow (burstWindows); one over only now is the burst the stop hid.
  const firstStart = new Date(from.getTime() - HOUR_MS);
  // And the hour before that, with the alerts that end in it, to judge a burst that straddles an
  // alert (burstWindows): the sixty minutes that make it one start inside the alert's window, up
  // to an hour before its first minute after it, which a run that came late sees at the start of
  // its windows, past those minutes and the alert's end: judged on its part after the alert
  // alone, the burst went unalerted though the run saw its first minute (found by a review). No
  // window starts in that hour: it is read for what it holds.
  const context = new Date(firstStart.getTime() - HOUR_MS);
  // A client is read if its entries in those hours reach the floor, or if it has an alert whose
  // window this run's windows may hold: the window of a straddling burst raised before its alert
  // reached back to the minutes that put it over (burstWindows) holds fewer than the floor, and
  // once the lookback had passed the minutes before it, the client's total was under the floor
  // too, and the lookups that came later in the window were left out of its alert's count
  // (found by a review).
  const alerted = await alertedClients(store, v.rule, firstStart);
  const perMinute = await entryMinutesByAgreement(store, agreements, v.counted, context, at, v.floor, alerted);
  if (perMinute.size === 0) return [];
  const clients = [...new Set([...perMinute.values()].map((c) => c.clientId))];
  const taken = await alertWindows(store, v.rule, context, clients);
  const baselineStart = new Date(from.getTime() - baselineDays * 24 * HOUR_MS);
  const baselines = new Map<string, Map<string, AgreementCount>>();
  const findings: Finding[] = [];
  for (const [key, c] of perMinute) {
    let before = baselines.get(c.clientId);
    if (before === undefined) {
      before = await entriesByAgreement(store, agreements, v.counted, baselineStart, from, 0, c.clientId);
      baselines.set(c.clientId, before);
    }
    const baseline = (before.get(key)?.count ?? 0) / (baselineDays * 24);
    const over = (count: number) => count >= v.floor && count > v.factor * baseline;
    /** The roles of the minutes [from, to) overlaps, as the alert's detail. */
    const detailOf = (from: number, to: number) => {
      const roles = new Set<string>();
      for (const [minute, made] of c.roles)
        if (minute + MINUTE_MS > from && minute < to) for (const role of made) roles.add(role);
      return v.detail(roles);
    };
    // A window's entries on either side of a decision, counted again to the millisecond.
    const entriesIn = async (from: string, to: string) =>
      (await entriesByAgreement(store, agreements, v.counted, new Date(from), new Date(to), 0, c.clientId)).get(key)
        ?.count ?? 0;
    for (const window of burstWindows(c.minutes, firstStart, taken.get(key) ?? [], over)) {
      const detail = detailOf(window.start.getTime(), window.end.getTime());
      const finding = windowFinding(v.rule, c, detail, window, window.count, baseline);
      findings.push(
        ...(await continuedAfterDecisions(
          store,
          { ...finding, windowKey: iso(window.key) },
          async (part, decidedAt, afterKey) => [
            {
              ...part,
              role: detailOf(Date.parse(part.windowStart), Date.parse(decidedAt)),
              count: await entriesIn(part.windowStart, decidedAt),
            },
            {
              ...part,
              role: detailOf(Date.parse(decidedAt), Date.parse(part.windowEnd)),
              windowStart: decidedAt,
              count: await entriesIn(decidedAt, part.windowEnd),
              windowKey: afterKey,
            },
          ],
        )),
      );
    }
  }
  return findings;
}

/**
 * The windows of a burst, from a client's counts a minute under one agreement (minute start in
 * ms → entries, in [from − an hour, at)): each minute with entries from `from` on starts a
 * window of the sixty minutes from it, counted as far as the log goes, and is over or not by
 * `over`. The same burst is seen by every run whose lookback holds it, from a later minute each
 * time, so the windows are chosen to come out the same whenever they are asked for:
 * - a window of an alert already raised (`taken`, the rule's alerts for this client and
 *   agreement that end in the minutes given) is found again, to grow, and no window that
 *   overlaps it is another alert;
 * - otherwise the first window over the thresholds is taken, and the next may start only where
 *   it ends. A client busy for hours is one alert an hour, as under the clock hours.
 * The first window after an alert's is judged by more than its own sixty minutes: a burst that
 * starts inside the alert's window and runs past it (10:55–11:05 after an alert for 10:00–11:00)
 * was judged from the alert's end alone, cut to its part after it, and went unalerted, its
 * lookups after 11:00 in no alert (found by a review). That window is an alert too where sixty
 * minutes from inside the alert's window are over the thresholds and at least half theirs are
 * after its end (straddling): a burst of its own, not the alert's burst going on a few minutes.
 * It is keyed, and the next window placed, where its own sixty minutes end, so a burst is
 * alerted once, and alerts an hour; but its alert reaches back to the first of those sixty
 * minutes (the latest such, where several are), overlapping the alert before it: from its own
 * first minute it counted the burst's part after that alert alone, 60 against a floor of 100,
 * and the DPO read an alert under its rule's threshold with nothing in it to show why it was
 * raised (found by a review).
 */
function burstWindows(
  minutes: ReadonlyMap<number, number>,
  from: Date,
  taken: readonly Period[],
  over: (count: number) => boolean,
): BurstWindow[] {
  const starts = [...minutes.keys()].sort((a, b) => a - b);
  /** Entries in the minutes of [from, to). */
  const between = (from: number, to: number) => {
    let count = 0;
    for (const start of starts) if (start >= from && start < to) count += minutes.get(start)!;
    return count;
  };
  /**
   * Where a burst runs out of `alerted` into the minutes from `start`, the first with entries
   * after it: the first minute of the latest sixty minutes from inside it that reach `start`,
   * over, half of them after its end; undefined where none do.
   */
  const straddling = (alerted: Period, start: number): number | undefined => {
    const end = alerted.end.getTime();
    if (starts.some((m) => m >= end && m < start)) return undefined;
    return starts.findLast(
      (s) =>
        s > alerted.start.getTime() &&
        s < end &&
        s + HOUR_MS > start &&
        over(between(s, s + HOUR_MS)) &&
        between(end, s + HOUR_MS) >= between(s, end),
    );
  };
  /** The window keyed `key`, from `first` (earlier for a straddling burst's). */
  const windowAt = (key: number, first: number): BurstWindow => {
    const end = key + HOUR_MS;
    return { start: new Date(first), end: new Date(end), key: new Date(key), count: between(first, end) };
  };
  const windows: BurstWindow[] = [];
  let freeFrom = -Infinity;
  for (const start of starts) {
    // The hour before the first window: for `straddling` and `between` to read.
    if (start < from.getTime()) continue;
    const end = start + HOUR_MS;
    const overlapping = taken.filter((w) => w.start.getTime() < end && w.end.getTime() > start);
    if (overlapping.length > 0) {
      // Found again to grow, by its key (its end less an hour: an alert's window is sixty minutes
      // but for a straddling burst's, which reaches back from them), from its own first minute.
      // The earliest of them: an alert acted on before its window ended shares its end with the
      // alert of what came after (continuedAfterDecisions), which starts at the decision.
      const own = overlapping
        .filter((w) => w.end.getTime() === end)
        .reduce<Period | undefined>(
          (first, w) => (first === undefined || w.start < first.start ? w : first),
          undefined,
        );
      if (own) windows.push(windowAt(start, own.start.getTime()));
      continue;
    }
    if (start < freeFrom) continue;
    // The alert whose window ended last before this minute, raised before or by this run.
    const alerted = [...taken, ...windows]
      .filter((w) => w.end.getTime() <= start)
      .reduce<Period | undefined>(
        (last, w) =>
          last === undefined || w.end > last.end || (w.end.getTime() === last.end.getTime() && w.start < last.start)
            ? w
            : last,
        undefined,
      );
    const first = over(between(start, end)) ? start : alerted && straddling(alerted, start);
    if (first === undefined) continue;
    windows.push(windowAt(start, first));
    freeFrom = end;
  }
  return windows;
}

/** A window burstWindows found, keyed by its own first minute, and how many entries it holds. */
interface BurstWindow extends Period {
  key: Date;
  count: number;
}

/** A client's entries under one agreement, and by the minute: each minute's start in ms → entries. */
interface MinuteCounts extends AgreementCount {
  minutes: Map<number, number>;
  /** Each minute's start in ms → the roles its entries were made under. */
  roles: Map<number, Set<string>>;
}

/**
 * The entries counted in [from, to) of the clients that made at least `minimum` in all, and of
 * those `alwaysRead` names however many they made, per client and agreement (keyed as
 * entriesByAgreement's) and minute.
 */
async function entryMinutesByAgreement(
  store: Store,
  agreements: AgreementSet,
  counted: Counted,
  from: Date,
  to: Date,
  minimum: number,
  alwaysRead: readonly string[],
): Promise<Map<string, MinuteCounts>> {
  const busy = [...new Set([...(await busyClients(store, counted, from, to, minimum)), ...alwaysRead])];
  if (busy.length === 0) return new Map();
  // `time` is ISO-8601 text: its first 16 characters are its minute, on either engine.
  const minute = sql<string>`substring(${sql.ref('time')}, 1, 16)`;
  const rows = await store.db
    .selectFrom('access_log')
    .select((eb) => ['client_id', ...OWNERSHIP, minute.as('minute'), eb.fn.countAll<number>().as('n')])
    .where('time', '>=', iso(from))
    .where('time', '<', iso(to))
    .where(counted)
    .where('client_id', 'in', busy)
    .groupBy(['client_id', ...OWNERSHIP, minute])
    .execute();
  const counts = new Map<string, MinuteCounts>();
  for (const row of rows) {
    const start = Date.parse(`${row.minute}:00.000Z`);
    for (const agreementId of agreementsOfEntry(agreements, row)) {
      const key = `${row.client_id}\u0000${agreementId}`;
      const entry = counts.get(key) ?? {
        clientId: row.client_id,
        partyId: row.party_id,
        agreementId,
        count: 0,
        minutes: new Map<number, number>(),
        roles: new Map<number, Set<string>>(),
      };
      entry.count += Number(row.n);
      entry.minutes.set(start, (entry.minutes.get(start) ?? 0) + Number(row.n));
      const roles = entry.roles.get(start) ?? new Set<string>();
      for (const role of rolesOf(row.roles)) roles.add(role);
      entry.roles.set(start, roles);
      counts.set(key, entry);
    }
  }
  return counts;
}

/** Lookups in the out-of-hours periods that overlap the lookback, one finding per client, agreement and period. */
async function outOfHours(
  store: Store,
  agreements: AgreementSet,
  since: Date,
  at: Date,
  t: WatchThresholds,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const period of outOfHoursPeriods(since, at, t.workingHours)) {
    const counts = await entriesByAgreement(
      store,
      agreements,
      isLookup,
      period.start,
      minDate(period.end, at),
      t.outOfHoursMinimum,
    );
    for (const [key, c] of counts) {
      if (c.count < t.outOfHoursMinimum) continue;
      const finding = windowFinding('out-of-hours', c, null, period, c.count, null);
      // The lookups of the period on either side of a decision, counted again for each part.
      const lookupsIn = async (from: string, to: Date) =>
        (await entriesByAgreement(store, agreements, isLookup, new Date(from), to, 0, c.clientId)).get(key)?.count ?? 0;
      const end = minDate(period.end, at);
      findings.push(
        ...(await continuedAfterDecisions(store, finding, async (part, decidedAt, afterKey) => [
          { ...part, count: await lookupsIn(part.windowStart, new Date(decidedAt)) },
          { ...part, windowStart: decidedAt, count: await lookupsIn(decidedAt, end), windowKey: afterKey },
        ])),
      );
    }
  }
  return findings;
}

/**
 * Runs of lookups that matched nobody, per client and agreement. Only a lookup that found
 * someone (one with a subject, allowed or denied; not a follow-up entry about them,
 * FOLLOW_UP_REASONS, but for a lone one, the lookup's only entry) ends a run, and only a run of
 * its own agreement's; other refusals (bad identifiers, rate limiting) neither count nor break
 * it, so interleaving them does not hide a fishing run. A run is keyed by its first entry, so a run
 * that keeps growing is one alert. The scan starts after the client's last match before the
 * lookback in each agreement a miss in the lookback is of, so a run that began earlier is still
 * seen whole, however the client's lookups under its other agreements fell.
 */
async function noMatchRuns(
  store: Store,
  agreements: AgreementSet,
  since: Date,
  at: Date,
  t: WatchThresholds,
): Promise<Finding[]> {
  // A duplicate check that finds nobody is answered, and logged allowed, with no subject: it is
  // a miss all the same (found by a review: interleaved with searches it hid a fishing run). So
  // is the follow-up of one, where it is the check's only entry (isLookupEntry): only an allowed
  // call is followed up, about the subject its entry named (request-pipeline.ts), so one of a
  // check about nobody is of a check that found nobody (found by a review: it neither counted nor
  // broke the run). A search that finds nobody is refused, and is never followed up.
  const isNoMatch = (eb: ExpressionBuilder<Database, 'access_log'>) =>
    eb.and([
      eb('subject_ref', 'is', null),
      eb.or([
        eb.and([eb('decision', '=', 'deny'), eb('reason_code', 'in', NO_MATCH_REASONS)]),
        eb.and([
          eb('action', '=', DUPLICATE_CHECK),
          eb.or([eb('decision', '=', 'allow'), eb('reason_code', '=', RESPONSE_NOT_SENT)]),
        ]),
      ]),
    ]);
  const misses = await store.db
    .selectFrom('access_log')
    .select(['client_id', ...OWNERSHIP])
    .distinct()
    .where('time', '>=', iso(since))
    .where('time', '<', iso(at))
    .where(isLookup)
    .where(isNoMatch)
    .execute();
  /** Per client, the agreements a miss in the lookback is of. */
  const candidates = new Map<string, Set<string>>();
  for (const row of misses) {
    const of = candidates.get(row.client_id) ?? new Set<string>();
    for (const id of agreementsOfEntry(agreements, row)) of.add(id);
    candidates.set(row.client_id, of);
  }
  const findings: Finding[] = [];
  for (const [clientId, watched] of candidates) {
    const lastMatches = await lastMatchesBefore(store, agreements, clientId, since, watched);
    // From the earliest of them (the beginning, where one has none): each agreement's run is
    // read after its own last match.
    const starts = [...watched].map((id) => lastMatches.get(id));
    const from = starts.includes(undefined)
      ? undefined
      : starts.reduce((earliest, match) => (match!.seq < earliest!.seq ? match : earliest));
    const rows = await store.dialect
      .firstRows(
        store.db
          .selectFrom('access_log')
          .select(['seq', 'time', 'action', 'decision', 'reason_code', 'subject_ref', ...OWNERSHIP])
          .where('client_id', '=', clientId)
          .where('time', '>=', from?.time ?? '')
          .where('seq', '>', from?.seq ?? 0)
          .where('time', '<', iso(at))
          .where(isLookupEntry)
          // Only the entries that end a run or count in it: the bound is on those. Read with the
          // other refusals, it was spent on them, and fifty thousand calls refused as rate limited
          // (as fast as a client can send them) hid the run that followed (found by a defect hunt).
          .where((eb) => eb.or([eb('subject_ref', 'is not', null), isNoMatch(eb)]))
          .orderBy('seq'),
        MAX_RUN_SCAN,
      )
      .execute();
    const runs = new Map<string, typeof rows>([...watched].map((id) => [id, []]));
    const closed: { agreementId: string; run: typeof rows }[] = [];
    const close = (agreementId: string) => {
      const run = runs.get(agreementId)!;
      if (run.length >= t.noMatchRun) closed.push({ agreementId, run });
      runs.set(agreementId, []);
    };
    for (const row of rows) {
      const miss =
        row.subject_ref === null &&
        ((row.decision === 'deny' && NO_MATCH_REASONS.includes(row.reason_code)) ||
          (row.action === DUPLICATE_CHECK && (row.decision === 'allow' || row.reason_code === RESPONSE_NOT_SENT)));
      for (const agreementId of agreementsOfEntry(agreements, row)) {
        if (!watched.has(agreementId)) continue;
        // Before this agreement's own last match: another agreement's stretch, read for that one.
        const own = lastMatches.get(agreementId);
        if (own !== undefined && Number(row.seq) <= own.seq) continue;
        if (row.subject_ref !== null) close(agreementId);
        else if (miss) runs.get(agreementId)!.push(row);
      }
    }
    for (const agreementId of watched) close(agreementId);
    for (const { agreementId, run } of closed) {
      /** The run's misses from the first of `entries`, keyed `windowKey`. */
      const runFinding = (entries: typeof rows, windowKey: string): Finding => ({
        rule: 'no-match-run',
        clientId,
        partyId: entries[entries.length - 1]!.party_id,
        agreementId,
        role: null,
        windowStart: entries[0]!.time,
        windowEnd: entries[entries.length - 1]!.time,
        count: entries.length,
        baseline: null,
        windowKey,
      });
      /** Each part's misses, by its key. */
      const entriesOf = new Map<string, typeof rows>();
      const part = (entries: typeof rows, windowKey: string) => {
        if (entries.length === 0) return undefined;
        entriesOf.set(windowKey, entries);
        return runFinding(entries, windowKey);
      };
      const whole = part(run, `seq:${Number(run[0]!.seq)}`)!;
      findings.push(
        ...(await continuedAfterDecisions(store, whole, (finding, decidedAt, afterKey) => {
          const entries = entriesOf.get(finding.windowKey)!;
          return Promise.resolve([
            part(
              entries.filter((row) => row.time < decidedAt),
              finding.windowKey,
            ),
            part(
              entries.filter((row) => row.time >= decidedAt),
              afterKey,
            ),
          ]);
        })),
      );
    }
  }
  return findings;
}

/**
 * A finding as its alerts hold it: where the alert it is found again for was acted on (a breach
 * opened from it, decisionTime), that alert keeps the part before the decision, and the part
 * after is a finding of its own, keyed by the alert decided (`after:` its id), to raise a new
 * alert, open and listed, however few entries it holds: the activity the DPO acted on went on. And
 * so on, where that one was acted on too. `split` gives the part before a decision, keyed as the
 * finding is, and the part after, from the decision on, keyed `afterKey`; either undefined, or of
 * no entries, where the finding has none there.
 */
async function continuedAfterDecisions(
  store: Store,
  finding: Finding,
  split: (finding: Finding, decidedAt: string, afterKey: string) => Promise<[Finding | undefined, Finding | undefined]>,
): Promise<Finding[]> {
  const parts: Finding[] = [];
  let rest: Finding | undefined = finding;
  while (rest !== undefined && rest.count > 0) {
    const id = alertIdFor(rest);
    const decidedAt = await decisionTime(store, id);
    if (decidedAt === undefined || decidedAt > rest.windowEnd) {
      parts.push(rest);
      break;
    }
    const [before, after] = await split(rest, decidedAt, `after:${id}`);
    if (before !== undefined && before.count > 0) parts.push(before);
    rest = after;
  }
  return parts;
}

interface Position {
  seq: number;
  time: string;
}

/** Matches read back at a time while looking for each agreement's last one before the lookback. */
const MATCH_SCAN_BATCH = 100;

/**
 * The client's last lookup that found someone before `since`, for each of the agreements given
 * that has one; read back from `since` until each is found, or MAX_RUN_SCAN matches were read (a
 * client that looked up thousands under one agreement since it last matched under another): an
 * agreement not found by then starts at the oldest match read, and its run is reported from there.
 */
async function lastMatchesBefore(
  store: Store,
  agreements: AgreementSet,
  clientId: string,
  since: Date,
  wanted: ReadonlySet<string>,
): Promise<Map<string, Position>> {
  const found = new Map<string, Position>();
  let before: Position | undefined;
  let read = 0;
  while (found.size < wanted.size) {
    const rows = await store.dialect
      .firstRows(
        store.db
          .selectFrom('access_log')
          .select(['seq', 'time', ...OWNERSHIP])
          .where('client_id', '=', clientId)
          .where('time', '<', iso(since))
          .where(isLookupEntry)
          .where('subject_ref', 'is not', null)
          .$if(before !== undefined, (q) =>
            q.where((eb) =>
              eb.or([
                eb('time', '<', before!.time),
                eb.and([eb('time', '=', before!.time), eb('seq', '<', before!.seq)]),
              ]),
            ),
          )
          .orderBy('time', 'desc')
          .orderBy('seq', 'desc'),
        MATCH_SCAN_BATCH,
      )
      .execute();
    for (const row of rows) {
      const at = { seq: Number(row.seq), time: row.time };
      for (const id of agreementsOfEntry(agreements, row)) if (wanted.has(id) && !found.has(id)) found.set(id, at);
      before = at;
    }
    read += rows.length;
    if (rows.length < MATCH_SCAN_BATCH) break;
    if (read >= MAX_RUN_SCAN) {
      for (const id of wanted) if (!found.has(id)) found.set(id, before!);
      break;
    }
  }
  return found;
}

/**
 * Entries releasing special-category fields, per client and agreement, in any sixty minutes,
 * against that client's hourly average there: windows placed as lookup-volume's (slidingVolume),
 * so a burst across the hour is seen as it is by lookup-volume — counted by clock hour, thirty
 * reads 10:50–11:10 against the floor of 20 were 12 and 18 and raised nothing. Each entry is
 * counted once, and the roles the window's entries were made under are the alert's detail
 * (`role`, names joined by commas): counted per role, the reads of a client holding two roles
 * were two alerts of the same thirty reads, one a role, for the DPO to find were one. `fields`
 * is JSON text written by JSON.stringify, so a field appears in it as `"dataset.field"`: a LIKE
 * finds it without parsing every row.
 */
async function specialCategoryVolume(
  store: Store,
  agreements: AgreementSet,
  fields: readonly string[],
  since: Date,
  at: Date,
  t: WatchThresholds,
): Promise<Finding[]> {
  if (fields.length === 0) return [];
  const readsSpecialCategory: Counted = (eb) =>
    eb.and([
      eb('decision', '=', 'allow'),
      sql<SqlBool>`(${sql.join(
        fields.map((f) => sql`${sql.ref('fields')} like ${`%${likeEscape(JSON.stringify(f))}%`} escape '\\'`),
        sql` or `,
      )})`,
    ]);
  return slidingVolume(store, agreements, since, at, t.baselineDays, {
    rule: 'special-category-volume',
    counted: readsSpecialCategory,
    floor: t.specialCategoryFloor,
    factor: t.specialCategoryFactor,
    detail: roleDetail,
  });
}

/** The alert's `role` column holds 100 characters: the roles that fit, sorted, and how many more. */
const ROLE_DETAIL_LENGTH = 100;

/** Role names (kebab-case, agreements/schema.ts: no commas) joined by commas, within the column. */
function roleDetail(roles: ReadonlySet<string>): string | null {
  const sorted = [...roles].sort();
  if (sorted.length === 0) return null;
  for (let shown = sorted.length; shown > 0; shown--) {
    const more = sorted.length - shown;
    const text = sorted.slice(0, shown).join(',') + (more > 0 ? `,+${more} more` : '');
    if (text.length <= ROLE_DETAIL_LENGTH) return text;
  }
  return `${sorted.length} roles`;
}

function windowFinding(
  rule: WatchRule,
  { clientId, partyId, agreementId }: Pick<AgreementCount, 'clientId' | 'partyId' | 'agreementId'>,
  role: string | null,
  window: Period,
  count: number,
  baseline: number | null,
): Finding {
  return {
    rule,
    clientId,
    partyId,
    agreementId,
    role,
    windowStart: iso(window.start),
    windowEnd: iso(window.end),
    count,
    baseline,
    windowKey: iso(window.start),
  };
}

function rolesOf(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((r): r is string => typeof r === 'string') : [];
  } catch {
    return [];
  }
}

/** LIKE wildcards and the escape character itself, escaped for `escape '\'`. */
function likeEscape(text: string): string {
  return text.replace(/[\\%_[]/g, (c) => `\\${c}`);
}
