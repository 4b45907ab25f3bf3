/**
 * Watch rules over the access log: patterns a DPO would want to hear about before a partner
 * does. Each rule reads the log (never the people data) and reports findings — which client,
 * which window, how many, against what baseline. `runWatch` turns findings into alert records,
 * once per rule, client and window however often it runs (alerts.ts), with a warning log line
 * of ids and counts.
 *
 * The rules look back a little further than the timer interval (LOOKBACK_MS), so a missed or
 * late run still sees the end of the window it would have seen.
 */
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Logger } from '../logging.js';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { raiseAlert, type Alert } from './alerts.js';
import { hourWindows, outOfHoursPeriods, UK_OFFICE_HOURS, type Period, type WorkingHours } from './working-hours.js';

export const WATCH_RULES = ['lookup-volume', 'out-of-hours', 'no-match-run', 'special-category-volume'] as const;
export type WatchRule = (typeof WATCH_RULES)[number];

/** Access-log actions that look a person up (request-pipeline actions of the people APIs). */
export const LOOKUP_ACTIONS: readonly string[] = ['person.search', 'person.view', 'person.duplicate-check'];
const DUPLICATE_CHECK = 'person.duplicate-check';

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
  /** lookup-volume: fires when an hour's lookups exceed this multiple of the client's hourly average… */
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
  /** special-category-volume: as volumeFactor/volumeFloor, for entries releasing special-category fields, per role. */
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

export interface Finding {
  rule: WatchRule;
  clientId: string;
  partyId: string;
  /** For special-category-volume: the role whose reads were counted. */
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
    ...(await lookupVolume(store, since, at, thresholds)),
    ...(await outOfHours(store, since, at, thresholds)),
    ...(await noMatchRuns(store, since, at, thresholds)),
    ...(await specialCategoryVolume(store, specialCategoryFields(agreements), since, at, thresholds)),
  ];
}

export interface WatchRun {
  evaluatedAt: string;
  /** The party of each finding, in order: a DPO is told only the findings about their agreement's parties. */
  findingParties: string[];
  /** Alerts raised by this run; findings already alerted for the same window are not repeated. */
  raised: Alert[];
}

export async function runWatch(
  deps: { store: Store; agreements: AgreementSet; logger: Logger },
  at: Date,
  thresholds: WatchThresholds = DEFAULT_THRESHOLDS,
): Promise<WatchRun> {
  const findings = await findSuspiciousActivity(deps.store, deps.agreements, at, thresholds);
  const raised: Alert[] = [];
  for (const finding of findings) {
    const alert = await raiseAlert(deps.store, finding, at);
    if (!alert) continue;
    raised.push(alert);
    deps.logger.warn('audit.alert-raised', {
      alertId: alert.id,
      rule: alert.rule,
      clientId: alert.clientId,
      partyId: alert.partyId,
      role: alert.role,
      windowStart: alert.windowStart,
      windowEnd: alert.windowEnd,
      count: alert.count,
      baseline: alert.baseline,
    });
  }
  return { evaluatedAt: iso(at), findingParties: findings.map((f) => f.partyId), raised };
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

/** A client's lookups in a clock hour far above its average hour over the previous days. */
async function lookupVolume(store: Store, since: Date, at: Date, t: WatchThresholds): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const window of hourWindows(since, at)) {
    const counts = await store.db
      .selectFrom('access_log')
      .select((eb) => ['client_id', eb.fn.max('party_id').as('party_id'), eb.fn.countAll<number>().as('n')])
      .where('time', '>=', iso(window.start))
      .where('time', '<', iso(minDate(window.end, at)))
      .where('action', 'in', LOOKUP_ACTIONS)
      .where('party_id', '!=', UNAUTHENTICATED_PARTY)
      .groupBy('client_id')
      .having((eb) => eb.fn.countAll(), '>=', t.volumeFloor)
      .execute();
    for (const row of counts) {
      const count = Number(row.n);
      const baselineStart = new Date(window.start.getTime() - t.baselineDays * 24 * HOUR_MS);
      const before = await store.db
        .selectFrom('access_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('client_id', '=', row.client_id)
        .where('time', '>=', iso(baselineStart))
        .where('time', '<', iso(window.start))
        .where('action', 'in', LOOKUP_ACTIONS)
        .executeTakeFirst();
      const baseline = Number(before?.n ?? 0) / (t.baselineDays * 24);
      if (count <= t.volumeFactor * baseline) continue;
      findings.push(windowFinding('lookup-volume', row.client_id, row.party_id, null, window, count, baseline));
    }
  }
  return findings;
}

/** Lookups in the out-of-hours periods that overlap the lookback, one finding per client and period. */
async function outOfHours(store: Store, since: Date, at: Date, t: WatchThresholds): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const period of outOfHoursPeriods(since, at, t.workingHours)) {
    const counts = await store.db
      .selectFrom('access_log')
      .select((eb) => ['client_id', eb.fn.max('party_id').as('party_id'), eb.fn.countAll<number>().as('n')])
      .where('time', '>=', iso(period.start))
      .where('time', '<', iso(minDate(period.end, at)))
      .where('action', 'in', LOOKUP_ACTIONS)
      .where('party_id', '!=', UNAUTHENTICATED_PARTY)
      .groupBy('client_id')
      .having((eb) => eb.fn.countAll(), '>=', t.outOfHoursMinimum)
      .execute();
    for (const row of counts) {
      findings.push(windowFinding('out-of-hours', row.client_id, row.party_id, null, period, Number(row.n), null));
    }
  }
  return findings;
}

/**
 * Runs of lookups that matched nobody. Only a lookup that found someone (one with a subject,
 * allowed or denied) ends a run; other refusals (bad identifiers, rate limiting) neither count nor break
 * it, so interleaving them does not hide a fishing run. A run is keyed by its first entry, so a
 * run that keeps growing is one alert. The scan starts after the client's last match before the
 * lookback, so a run that began earlier is still seen whole.
 */
async function noMatchRuns(store: Store, since: Date, at: Date, t: WatchThresholds): Promise<Finding[]> {
  // A duplicate check that finds nobody is answered, and logged allowed, with no subject: it is
  // a miss all the same (found by a review: interleaved with searches it hid a fishing run).
  const isNoMatch = (eb: ExpressionBuilder<Database, 'access_log'>) =>
    eb.and([
      eb('subject_ref', 'is', null),
      eb.or([
        eb.and([eb('decision', '=', 'deny'), eb('reason_code', 'in', NO_MATCH_REASONS)]),
        eb.and([eb('decision', '=', 'allow'), eb('action', '=', DUPLICATE_CHECK)]),
      ]),
    ]);
  const candidates = await store.db
    .selectFrom('access_log')
    .select('client_id')
    .distinct()
    .where('time', '>=', iso(since))
    .where('time', '<', iso(at))
    .where('action', 'in', LOOKUP_ACTIONS)
    .where('party_id', '!=', UNAUTHENTICATED_PARTY)
    .where(isNoMatch)
    .execute();
  const findings: Finding[] = [];
  for (const { client_id: clientId } of candidates) {
    const lastMatch = await store.dialect
      .firstRows(
        store.db
          .selectFrom('access_log')
          .select(['seq', 'time'])
          .where('client_id', '=', clientId)
          .where('time', '<', iso(since))
          .where('action', 'in', LOOKUP_ACTIONS)
          .where('subject_ref', 'is not', null)
          .orderBy('time', 'desc')
          .orderBy('seq', 'desc'),
        1,
      )
      .executeTakeFirst();
    const rows = await store.dialect
      .firstRows(
        store.db
          .selectFrom('access_log')
          .select(['seq', 'time', 'party_id', 'action', 'decision', 'reason_code', 'subject_ref'])
          .where('client_id', '=', clientId)
          .where('time', '>=', lastMatch?.time ?? '')
          .where('seq', '>', lastMatch?.seq ?? 0)
          .where('time', '<', iso(at))
          .where('action', 'in', LOOKUP_ACTIONS)
          // Only the entries that end a run or count in it: the bound is on those. Read with the
          // other refusals, it was spent on them, and fifty thousand calls refused as rate limited
          // (as fast as a client can send them) hid the run that followed (found by a defect hunt).
          .where((eb) => eb.or([eb('subject_ref', 'is not', null), isNoMatch(eb)]))
          .orderBy('seq'),
        MAX_RUN_SCAN,
      )
      .execute();
    let run: typeof rows = [];
    const close = () => {
      if (run.length >= t.noMatchRun) {
        const first = run[0]!;
        const last = run[run.length - 1]!;
        findings.push({
          rule: 'no-match-run',
          clientId,
          partyId: last.party_id,
          role: null,
          windowStart: first.time,
          windowEnd: last.time,
          count: run.length,
          baseline: null,
          windowKey: `seq:${Number(first.seq)}`,
        });
      }
      run = [];
    };
    for (const row of rows) {
      if (row.subject_ref !== null) close();
      else if (
        (row.decision === 'deny' && NO_MATCH_REASONS.includes(row.reason_code)) ||
        (row.decision === 'allow' && row.action === DUPLICATE_CHECK)
      )
        run.push(row);
    }
    close();
  }
  return findings;
}

/**
 * Entries releasing special-category fields, per client and role, in a clock hour, against that
 * client and role's hourly average. `fields` is JSON text written by JSON.stringify, so a field
 * appears in it as `"dataset.field"`: a LIKE finds it without parsing every row.
 */
async function specialCategoryVolume(
  store: Store,
  fields: readonly string[],
  since: Date,
  at: Date,
  t: WatchThresholds,
): Promise<Finding[]> {
  if (fields.length === 0) return [];
  const readsSpecialCategory = (): Expression<SqlBool> =>
    sql<SqlBool>`(${sql.join(
      fields.map((f) => sql`${sql.ref('fields')} like ${`%${likeEscape(JSON.stringify(f))}%`} escape '\\'`),
      sql` or `,
    )})`;
  const perRole = async (from: Date, to: Date, clientId?: string) => {
    let query = store.db
      .selectFrom('access_log')
      .select((eb) => ['client_id', 'roles', eb.fn.max('party_id').as('party_id'), eb.fn.countAll<number>().as('n')])
      .where('time', '>=', iso(from))
      .where('time', '<', iso(to))
      .where('decision', '=', 'allow')
      .where(readsSpecialCategory);
    if (clientId !== undefined) query = query.where('client_id', '=', clientId);
    const rows = await query.groupBy(['client_id', 'roles']).execute();
    const counts = new Map<string, { clientId: string; partyId: string; role: string; count: number }>();
    for (const row of rows) {
      for (const role of rolesOf(row.roles)) {
        const key = `${row.client_id}\u0000${role}`;
        const entry = counts.get(key) ?? { clientId: row.client_id, partyId: row.party_id, role, count: 0 };
        entry.count += Number(row.n);
        counts.set(key, entry);
      }
    }
    return [...counts.values()];
  };

  const findings: Finding[] = [];
  for (const window of hourWindows(since, at)) {
    for (const c of await perRole(window.start, minDate(window.end, at))) {
      if (c.count < t.specialCategoryFloor) continue;
      const baselineStart = new Date(window.start.getTime() - t.baselineDays * 24 * HOUR_MS);
      const before =
        (await perRole(baselineStart, window.start, c.clientId)).find((b) => b.role === c.role)?.count ?? 0;
      const baseline = before / (t.baselineDays * 24);
      if (c.count <= t.specialCategoryFactor * baseline) continue;
      findings.push(windowFinding('special-category-volume', c.clientId, c.partyId, c.role, window, c.count, baseline));
    }
  }
  return findings;
}

function windowFinding(
  rule: WatchRule,
  clientId: string,
  partyId: string,
  role: string | null,
  window: Period,
  count: number,
  baseline: number | null,
): Finding {
  return {
    rule,
    clientId,
    partyId,
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
