import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgreementSet } from '../../../shared/agreements/agreement-set.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AccessLog, type AccessLogRecord } from '../../../shared/audit/access-log.js';
import { findAlert, listAlerts, raiseAlert } from '../../../shared/audit/alerts.js';
import { icoDeadline, listBreaches, openBreach } from '../../../shared/audit/breach-records.js';
import { runWatch, specialCategoryFields } from '../../../shared/audit/watch-rules.js';
import { isWorkingTime, outOfHoursPeriods } from '../../../shared/audit/working-hours.js';
import { createLogger } from '../../../shared/logging.js';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import { restoreStoreState, storeState, type StoreState } from '../../support/store-state.js';

const MAPPA = 'keyways-housing-register.multiAgencyPublicProtectionArrangements';
const FIRST_NAME = 'keyways-housing-register.firstName';
const PARTIES = ['kettering-borough-council', 'keyways-registered-providers', 'corby-borough-council'];
/** The Keyways DPO's: its agreement's alerts, by its parties those raised before alerts had one. */
const KEYWAYS = { agreementIds: ['keyways-housing-allocation'], parties: PARTIES };

let agreements: AgreementSet;
beforeAll(() => {
  agreements = loadAgreements(join(import.meta.dirname, '../../../agreements'));
});

describe('working hours (Europe/London, weekdays 07:00–19:00)', () => {
  it('follows British Summer Time and the weekend', () => {
    // Tuesday 16 June 2026 (BST, UTC+1) and Tuesday 13 January 2026 (GMT).
    expect(isWorkingTime(new Date('2026-06-16T06:30:00Z'))).toBe(true); // 07:30 BST
    expect(isWorkingTime(new Date('2026-01-13T06:30:00Z'))).toBe(false); // 06:30 GMT
    expect(isWorkingTime(new Date('2026-06-16T17:59:59Z'))).toBe(true); // 18:59 BST
    expect(isWorkingTime(new Date('2026-06-16T18:00:00Z'))).toBe(false); // 19:00 BST
    expect(isWorkingTime(new Date('2026-06-20T11:00:00Z'))).toBe(false); // Saturday noon
  });

  it('gives whole out-of-hours periods, a weekend as one', () => {
    const weekend = outOfHoursPeriods(new Date('2026-06-20T11:00:00Z'), new Date('2026-06-20T12:00:00Z'));
    expect(weekend.map((p) => [p.start.toISOString(), p.end.toISOString()])).toEqual([
      ['2026-06-19T18:00:00.000Z', '2026-06-22T06:00:00.000Z'],
    ]);
    // The night the clocks go forward (Sunday 29 March 2026): Friday 19:00 GMT to Monday 07:00 BST.
    const dst = outOfHoursPeriods(new Date('2026-03-29T12:00:00Z'), new Date('2026-03-29T13:00:00Z'));
    expect(dst.map((p) => [p.start.toISOString(), p.end.toISOString()])).toEqual([
      ['2026-03-27T19:00:00.000Z', '2026-03-30T06:00:00.000Z'],
    ]);
    expect(outOfHoursPeriods(new Date('2026-06-16T09:00:00Z'), new Date('2026-06-16T10:00:00Z'))).toEqual([]);
  });
});

describe('watch rules over the access log', () => {
  let store: Store;
  let log: AccessLog;
  let clock: Date;
  let lines: Record<string, unknown>[];
  let n = 0;
  const logger = createLogger('warn', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));

  const lookup = (clientId: string, extra: Partial<AccessLogRecord> = {}): AccessLogRecord => ({
    requestId: `req-${++n}`,
    partyId: 'keyways-registered-providers',
    clientId,
    roles: ['rp-lettings'],
    purpose: 'housing-allocation',
    action: 'person.search',
    subjectRef: `person-${n}`,
    datasets: ['keyways-housing-register'],
    fields: [FIRST_NAME],
    decision: 'allow',
    reasonCode: 'granted',
    ...extra,
  });
  const noMatch = (clientId: string): AccessLogRecord =>
    lookup(clientId, {
      subjectRef: null,
      fields: [],
      decision: 'deny',
      // Every way a lookup shows nobody: nobody, two people, or a person the caller's identifiers contradict.
      reasonCode: ['no-match', 'ambiguous', 'identifier-conflict', 'date-of-birth-conflict'][n % 4]!,
    });
  const badIdentifier = (clientId: string): AccessLogRecord =>
    lookup(clientId, {
      subjectRef: null,
      fields: [],
      datasets: [],
      decision: 'deny',
      reasonCode: 'invalid-identifier',
    });

  /** Appends the records in order, all committed at `time` (one group commit). */
  async function appendAt(time: string, records: AccessLogRecord[]): Promise<void> {
    clock = new Date(time);
    await Promise.all(records.map((r) => log.append(r)));
  }
  const times = (count: number, make: () => AccessLogRecord) => Array.from({ length: count }, make);
  const watch = (time: string) => runWatch({ store, agreements, logger }, new Date(time));

  let migrated: StoreState;

  // One store and access log for the describe, put back as migrated before each test: a store of
  // each test's own started its threads (access log, reads, checkpoints) again, seconds apiece.
  beforeAll(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-watch-')), 'log.db') });
    await migrateToLatest(store);
    log = new AccessLog(store, createLogger('error'), () => clock);
    migrated = storeState(store);
  });
  beforeEach(() => {
    restoreStoreState(store, migrated);
    clock = new Date('2026-03-01T00:00:00Z');
    lines = [];
  });
  afterEach(async () => {
    await log.drain();
  });
  afterAll(async () => {
    await log?.close();
    await store?.close();
  });

  // Wednesday 11 March 2026, GMT: 10:00–11:00 is working time, so only the rule under test fires.
  const DAY = (d: number, hhmm: string) => `2026-03-${String(d).padStart(2, '0')}T${hhmm}:00.000Z`;

  it('raises nothing for ordinary traffic during working hours', async () => {
    // A busy client, steadily busy: 720 lookups a day for a week (30 an hour), 120 in this hour.
    for (let d = 4; d <= 10; d++)
      await appendAt(
        DAY(d, '10:00'),
        times(720, () => lookup('busy-client')),
      );
    // A senior officer reading special-category fields about as often as usual (5 an hour).
    await appendAt(
      DAY(8, '11:00'),
      times(840, () => lookup('officer-client', { roles: ['senior-officer'], fields: [MAPPA] })),
    );
    await appendAt(
      DAY(11, '10:05'),
      times(120, () => lookup('busy-client')),
    );
    await appendAt(
      DAY(11, '10:06'),
      times(25, () => lookup('officer-client', { roles: ['senior-officer'], fields: [MAPPA] })),
    );
    // Failed searches, but a found person in between: two runs of nine.
    await appendAt(DAY(11, '10:10'), [
      ...times(9, () => noMatch('typo-client')),
      lookup('typo-client'),
      ...times(9, () => noMatch('typo-client')),
    ]);

    const run = await watch(DAY(11, '10:30'));
    expect(run.raised).toEqual([]);
    expect(await listAlerts(store, { scope: KEYWAYS, limit: 100 })).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('raises lookup-volume for sixty minutes far above the client’s baseline, once per window', async () => {
    for (let d = 4; d <= 10; d++)
      await appendAt(
        DAY(d, '10:00'),
        times(10, () => lookup('spiky-client')),
      );
    await appendAt(
      DAY(11, '10:05'),
      times(150, () => lookup('spiky-client')),
    );
    // Below the absolute floor, however far above its (zero) baseline.
    await appendAt(
      DAY(11, '10:06'),
      times(99, () => lookup('new-client')),
    );

    const first = await watch(DAY(11, '10:30'));
    expect(first.raised).toHaveLength(1);
    const alert = first.raised[0]!;
    expect(alert).toMatchObject({
      rule: 'lookup-volume',
      clientId: 'spiky-client',
      partyId: 'keyways-registered-providers',
      // The sixty minutes from the burst's first minute.
      windowStart: DAY(11, '10:05'),
      windowEnd: DAY(11, '11:05'),
      count: 150,
      status: 'open',
      raisedAt: DAY(11, '10:30'),
    });
    expect(alert.baseline).toBeCloseTo(70 / 168, 3);

    // The same window keeps growing: still one alert.
    await appendAt(
      DAY(11, '10:40'),
      times(50, () => lookup('spiky-client')),
    );
    expect((await watch(DAY(11, '10:35'))).raised).toEqual([]);
    expect((await watch(DAY(11, '10:45'))).raised).toEqual([]);
    // A late run in the next hour still sees the previous hour, and does not repeat it.
    expect((await watch(DAY(11, '11:03'))).raised).toEqual([]);
    expect(await listAlerts(store, { scope: KEYWAYS, limit: 100 })).toHaveLength(1);

    // A new spike after the window's end is a new window.
    await appendAt(
      DAY(11, '11:10'),
      times(150, () => lookup('spiky-client')),
    );
    const next = await watch(DAY(11, '11:20'));
    expect(next.raised.map((a) => [a.rule, a.windowStart, a.count])).toEqual([
      ['lookup-volume', DAY(11, '11:10'), 150],
    ]);
  });

  /** Wednesday 11 March 2026, `minutes` (and `seconds`) after 10:00. */
  const afterTen = (minutes: number, seconds = 0) =>
    new Date(Date.parse(DAY(11, '10:00')) + minutes * 60_000 + seconds * 1000).toISOString();

  it('raises lookup-volume for a burst across the hour, which no clock hour holds enough of', async () => {
    // 150 lookups 10:50–11:10: over the floor of 100 in any sixty minutes that hold them, but 75
    // in each clock hour.
    for (let minute = 50; minute <= 70; minute += 5)
      await appendAt(
        afterTen(minute),
        times(30, () => lookup('burst-client')),
      );
    // The timer, every five minutes, from before the burst to well after it.
    const raised = [];
    for (let minute = 50; minute <= 135; minute += 5) raised.push(...(await watch(afterTen(minute, 30))).raised);
    expect(raised.map((a) => [a.rule, a.clientId, a.windowStart, a.windowEnd])).toEqual([
      ['lookup-volume', 'burst-client', DAY(11, '10:50'), DAY(11, '11:50')],
    ]);
    expect((await listAlerts(store, { scope: KEYWAYS, limit: 100 })).map((a) => a.count)).toEqual([150]);
  });

  it('raises a lookup-volume burst that goes on for hours once an hour, however often the timer runs', async () => {
    // 20 lookups every five minutes 10:00–11:55, the timer two minutes after each, and on after.
    const raised = [];
    for (let minute = 0; minute < 120; minute += 5) {
      await appendAt(
        afterTen(minute),
        times(20, () => lookup('steady-client')),
      );
      raised.push(...(await watch(afterTen(minute + 2))).raised);
    }
    for (let minute = 120; minute <= 200; minute += 5) raised.push(...(await watch(afterTen(minute))).raised);
    // The second is raised at 11:12, when 10:50–11:50 holds 100, 60 of them after 11:00 (a
    // straddling burst): it is the hour from 11:00, shown from 10:50, where it was over the floor,
    // not from 11:00, where it then held 60.
    expect(raised.map((a) => [a.windowStart, a.windowEnd])).toEqual([
      [DAY(11, '10:00'), DAY(11, '11:00')],
      [DAY(11, '10:50'), DAY(11, '12:00')],
    ]);
    const alerts = await listAlerts(store, { scope: KEYWAYS, limit: 100 });
    expect(alerts.map((a) => [a.windowStart, a.count]).sort()).toEqual([
      [DAY(11, '10:00'), 240],
      [DAY(11, '10:50'), 280],
    ]);
  });

  it('raises lookup-volume for a burst that starts inside an alert’s window and runs past it', async () => {
    // 100 lookups at 10:00 are an alert for 10:00–11:00. Then 60 at 10:55 and 60 at 11:05: 120 in
    // ten minutes, over the floor in any sixty minutes that hold them, but judged from the
    // alert's end they were 60, and the 60 after 11:00 were in no alert.
    await appendAt(
      afterTen(0),
      times(100, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(55),
      times(60, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(65),
      times(60, () => lookup('burst-client')),
    );
    // Five more at 11:30: that alert grows.
    await appendAt(
      afterTen(90),
      times(5, () => lookup('burst-client')),
    );
    // A burst whose last minute is past its alert's end (20 every five minutes, 10:00–11:00 both
    // included): the sixty minutes before that minute are its alert's, and it is one burst.
    for (let minute = 0; minute <= 60; minute += 5)
      await appendAt(
        afterTen(minute, 10),
        times(20, () => lookup('steady-client')),
      );
    const raised = [];
    for (let minute = 0; minute <= 150; minute += 5) raised.push(...(await watch(afterTen(minute, 30))).raised);
    expect(raised.map((a) => [a.clientId, a.windowStart, a.windowEnd])).toEqual([
      ['burst-client', DAY(11, '10:00'), DAY(11, '11:00')],
      ['steady-client', DAY(11, '10:00'), DAY(11, '11:00')],
      ['burst-client', DAY(11, '10:55'), DAY(11, '12:05')],
    ]);
    const alerts = await listAlerts(store, { scope: KEYWAYS, limit: 100 });
    expect(alerts.map((a) => [a.clientId, a.windowStart, a.count]).sort()).toEqual([
      ['burst-client', DAY(11, '10:00'), 160],
      ['burst-client', DAY(11, '10:55'), 125],
      ['steady-client', DAY(11, '10:00'), 240],
    ]);
  });

  it('shows in a straddling burst’s alert the sixty minutes that put it over the floor, not its part after the alert alone', async () => {
    // The burst of the test above: 100 lookups at 10:00 (an alert for 10:00–11:00), then 60 at
    // 10:55 and 60 at 11:05. The alert for the second burst was of 11:05–12:05 and counted 60,
    // under the floor of 100: the DPO read an alert below its rule's threshold, and nothing in it
    // showed the 10:55 lookups that made it one. It reaches back to them: 120 from 10:55.
    await appendAt(
      afterTen(0),
      times(100, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(55),
      times(60, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(65),
      times(60, () => lookup('burst-client')),
    );
    for (let minute = 0; minute <= 150; minute += 5) await watch(afterTen(minute, 30));
    // Each at or over the floor, as every lookup-volume alert is.
    const alerts = await listAlerts(store, { scope: KEYWAYS, limit: 100 });
    expect(alerts.map((a) => [a.windowStart, a.windowEnd, a.count]).sort()).toEqual([
      [DAY(11, '10:00'), DAY(11, '11:00'), 160],
      [DAY(11, '10:55'), DAY(11, '12:05'), 120],
    ]);
  });

  it('grows a straddling burst’s alert by lookups late in its window, past the lookback of its over minutes', async () => {
    // The burst of the test above: an alert for 10:00–11:00, and one for the burst from 10:55,
    // keyed by the hour from 11:05. Five more at 12:03 are in that window, but the runs that see
    // them look back to 11:00 or later, where the client made 65 lookups, under the floor of 100.
    await appendAt(
      afterTen(0),
      times(100, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(55),
      times(60, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(65),
      times(60, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(123),
      times(5, () => lookup('burst-client')),
    );
    const raised = [];
    for (let minute = 0; minute <= 190; minute += 5) raised.push(...(await watch(afterTen(minute, 30))).raised);
    expect(raised.map((a) => [a.windowStart, a.windowEnd])).toEqual([
      [DAY(11, '10:00'), DAY(11, '11:00')],
      [DAY(11, '10:55'), DAY(11, '12:05')],
    ]);
    const alerts = await listAlerts(store, { scope: KEYWAYS, limit: 100 });
    expect(alerts.map((a) => [a.windowStart, a.count]).sort()).toEqual([
      [DAY(11, '10:00'), 160],
      [DAY(11, '10:55'), 125],
    ]);
  });

  it('raises a straddling burst for a timer that runs again only after the minutes inside the alert left its lookback', async () => {
    // The burst of the tests above: an alert for 10:00–11:00, then 60 lookups at 10:55 and 60 at
    // 11:05. The timer runs last at 11:00 and then not until 12:08 (a restart, a deployment):
    // its lookback, from 11:03, holds the 11:05 minute, and a burst there on its own would be
    // alerted, but not the 10:55 lookups that make it one, nor the alert before it.
    await appendAt(
      afterTen(0),
      times(100, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(55),
      times(60, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(65),
      times(60, () => lookup('burst-client')),
    );
    const raised = [];
    for (let minute = 0; minute <= 60; minute += 5) raised.push(...(await watch(afterTen(minute, 30))).raised);
    for (let minute = 128; minute <= 190; minute += 5) raised.push(...(await watch(afterTen(minute, 30))).raised);
    expect(raised.map((a) => [a.windowEnd, a.raisedAt])).toEqual([
      [DAY(11, '11:00'), afterTen(0, 30)],
      [DAY(11, '12:05'), afterTen(128, 30)],
    ]);
  });

  it('raises a burst that went over while the timer was stopped, for any stop shorter than the lookback', async () => {
    // A burst alone, no alert before it: 50 lookups at 10:00 and 50 at 10:59:30, a hundred (the
    // floor) in the sixty minutes from 10:00, made over by lookups the timer's last run before a
    // stop (10:59:15) did not see. The next run, after the stop (a restart, a deployment, a slow
    // run), looks back 65 minutes to 10:09 for a stop of 15 minutes: past 10:00, the only minute
    // whose sixty minutes hold both halves (a stop of six minutes, looking back to 10:00, still saw
    // it). Each stop on a working day of its own (10–13 March), by a client of its own.
    const stops = [6, 15, 30, 60];
    const day = (i: number, minutes: number, seconds = 0) =>
      new Date(Date.parse(DAY(10 + i, '10:00')) + minutes * 60_000 + seconds * 1000).toISOString();
    for (const [i, stop] of stops.entries()) {
      const client = `stopped-${stop}-client`;
      await appendAt(
        day(i, 0),
        times(50, () => lookup(client)),
      );
      await appendAt(
        day(i, 59, 30),
        times(50, () => lookup(client)),
      );
    }
    const raised = [];
    for (const [i, stop] of stops.entries()) {
      for (let minute = -5; minute < 59; minute += 5) raised.push(...(await watch(day(i, minute, 15))).raised);
      raised.push(...(await watch(day(i, 59, 15))).raised);
      for (let minute = 59 + stop; minute <= 59 + stop + 130; minute += 5)
        raised.push(...(await watch(day(i, minute, 15))).raised);
    }
    // One alert a stop, of the sixty minutes from 10:00 and all hundred lookups in them.
    expect(raised.map((a) => [a.clientId, a.windowStart, a.windowEnd, a.count])).toEqual(
      stops.map((stop, i) => [`stopped-${stop}-client`, day(i, 0), day(i, 60), 100]),
    );
  });

  it('raises a straddling burst and the alert before it once each, every lookup in one, whenever the timer runs', async () => {
    // The burst of the tests above: 100 lookups at 10:00, 60 at 10:55 and 60 at 11:05. The timer
    // every five minutes or so, at any second, sometimes twice at once (two instances), and once
    // stopped for up to an hour (a restart, a deployment): the same two alerts, each at or over
    // the floor, and no lookup outside them. Seeded, so a failure is the same schedule again.
    await appendAt(
      afterTen(0),
      times(100, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(55),
      times(60, () => lookup('burst-client')),
    );
    await appendAt(
      afterTen(65),
      times(60, () => lookup('burst-client')),
    );
    let seed = 13;
    const random = (below: number) => (seed = (seed * 48271) % 2147483647) % below;
    for (let schedule = 0; schedule < 6; schedule++) {
      await store.db.deleteFrom('audit_alert').execute();
      const stoppedAt = 300 + random(120 * 60);
      const stoppedFor = 5 * 60 + random(55 * 60);
      const raised = [];
      for (let second = -600 + random(300); second < 200 * 60;) {
        const at = new Date(Date.parse(afterTen(0)) + second * 1000 + 1 + random(999));
        raised.push(...(await watch(at.toISOString())).raised);
        if (random(10) === 0) raised.push(...(await watch(at.toISOString())).raised);
        second += second < stoppedAt && second + 360 >= stoppedAt ? stoppedFor : 240 + random(120);
      }
      const alerts = await listAlerts(store, { scope: KEYWAYS, limit: 100 });
      const context = { schedule, stoppedAt, stoppedFor };
      expect({ ...context, raised: raised.map((a) => a.windowEnd).sort() }).toEqual({
        ...context,
        raised: [DAY(11, '11:00'), DAY(11, '12:05')],
      });
      expect({ ...context, under: alerts.filter((a) => a.count < 100).length }).toEqual({ ...context, under: 0 });
      for (const minute of [0, 55, 65])
        expect({
          ...context,
          minute,
          in: alerts.some((a) => a.windowStart <= afterTen(minute) && afterTen(minute) < a.windowEnd),
        }).toEqual({ ...context, minute, in: true });
    }
  });

  it('does not raise again a burst alerted by the clock hour before windows slid', async () => {
    await appendAt(
      DAY(11, '10:05'),
      times(150, () => lookup('spiky-client')),
    );
    const byClockHour = await raiseAlert(
      store,
      {
        rule: 'lookup-volume',
        clientId: 'spiky-client',
        partyId: 'keyways-registered-providers',
        agreementId: 'keyways-housing-allocation',
        role: null,
        windowStart: DAY(11, '10:00'),
        windowEnd: DAY(11, '11:00'),
        count: 150,
        baseline: 0,
        windowKey: DAY(11, '10:00'),
      },
      new Date(DAY(11, '10:10')),
    );
    expect(byClockHour).toBeDefined();
    expect((await watch(DAY(11, '10:30'))).raised).toEqual([]);
    expect((await listAlerts(store, { scope: KEYWAYS, limit: 100 })).map((a) => a.id)).toEqual([byClockHour!.id]);
  });

  it('keeps an alert’s count to what its window or run has grown to, raising it still once', async () => {
    await appendAt(
      DAY(11, '10:05'),
      times(150, () => lookup('spiky-client')),
    );
    await appendAt(
      DAY(11, '10:06'),
      times(10, () => noMatch('fishing-client')),
    );
    await appendAt('2026-03-11T20:30:00.000Z', [lookup('night-client')]);
    const volume = (await watch(DAY(11, '10:30'))).raised;
    const night = (await watch('2026-03-11T20:35:00.000Z')).raised;
    expect(volume.map((a) => [a.rule, a.count])).toEqual([
      ['lookup-volume', 150],
      ['no-match-run', 10],
    ]);
    expect(night.map((a) => [a.rule, a.count])).toEqual([['out-of-hours', 1]]);

    // The hour goes on, the run goes on, the night goes on: the alerts the DPO reads say so.
    await appendAt(
      DAY(11, '10:40'),
      times(350, () => lookup('spiky-client')),
    );
    await appendAt(
      DAY(11, '10:41'),
      times(25, () => noMatch('fishing-client')),
    );
    await appendAt(
      '2026-03-11T23:10:00.000Z',
      times(40, () => lookup('night-client')),
    );
    expect((await watch(DAY(11, '10:45'))).raised).toEqual([]);
    expect((await watch('2026-03-11T23:15:00.000Z')).raised).toEqual([]);
    const alerts = await listAlerts(store, { scope: KEYWAYS, limit: 100 });
    expect(alerts.map((a) => [a.rule, a.clientId, a.count, a.windowEnd, a.raisedAt]).sort()).toEqual([
      ['lookup-volume', 'spiky-client', 500, DAY(11, '11:05'), DAY(11, '10:30')],
      ['no-match-run', 'fishing-client', 35, DAY(11, '10:41'), DAY(11, '10:30')],
      ['out-of-hours', 'night-client', 41, DAY(12, '07:00'), '2026-03-11T20:35:00.000Z'],
    ]);
    // Still one warning each: the growth is not a new firing.
    expect(lines.filter((l) => l.event === 'audit.alert-raised')).toHaveLength(3);
  });

  it('raises a new alert for what a night or a no-match run holds after a breach was opened from its alert', async () => {
    const NIGHT = (hhmm: string) => `2026-03-11T${hhmm}:00.000Z`;
    await appendAt(
      NIGHT('20:30'),
      times(10, () => noMatch('fishing-client')),
    );
    const first = (await watch(NIGHT('20:35'))).raised;
    expect(first.map((a) => [a.rule, a.count])).toEqual([
      ['out-of-hours', 10],
      ['no-match-run', 10],
    ]);
    // Two more before the DPO acts, which no run has seen yet: they are the acted-on alerts' own.
    await appendAt(
      NIGHT('20:40'),
      times(2, () => noMatch('fishing-client')),
    );
    for (const alert of first) await openBreach(store, agreements, alert.id, 'dpo-client', new Date(NIGHT('20:45')));
    await appendAt(
      NIGHT('20:50'),
      times(3, () => noMatch('fishing-client')),
    );
    const again = (await watch(NIGHT('20:55'))).raised;
    expect(again.map((a) => [a.rule, a.status, a.count, a.windowStart, a.windowEnd])).toEqual([
      ['out-of-hours', 'open', 3, NIGHT('20:45'), '2026-03-12T07:00:00.000Z'],
      ['no-match-run', 'open', 3, NIGHT('20:50'), NIGHT('20:50')],
    ]);
    // The night and the run go on: the new alerts grow, and nothing is raised a third time.
    await appendAt(NIGHT('21:00'), [noMatch('fishing-client')]);
    expect((await watch(NIGHT('21:05'))).raised).toEqual([]);
    const alerts = await listAlerts(store, { scope: KEYWAYS, limit: 100 });
    expect(alerts.map((a) => [a.rule, a.status, a.count]).sort()).toEqual([
      ['no-match-run', 'breach-opened', 12],
      ['no-match-run', 'open', 4],
      ['out-of-hours', 'breach-opened', 12],
      ['out-of-hours', 'open', 4],
    ]);
    expect(lines.filter((l) => l.event === 'audit.alert-raised')).toHaveLength(4);
  });

  it('writes one structured warning per alert, with ids and counts only', async () => {
    await appendAt(
      DAY(11, '10:05'),
      times(120, () => lookup('spiky-client')),
    );
    const run = await watch(DAY(11, '10:30'));
    await watch(DAY(11, '10:35'));
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({
      level: 'warn',
      event: 'audit.alert-raised',
      alertId: run.raised[0]!.id,
      rule: 'lookup-volume',
      clientId: 'spiky-client',
      count: 120,
    });
    expect(Object.keys(line).sort()).toEqual(
      [
        'agreementId',
        'alertId',
        'baseline',
        'clientId',
        'count',
        'event',
        'level',
        'partyId',
        'role',
        'rule',
        'time',
        'windowEnd',
        'windowStart',
      ].sort(),
    );
  });

  it('raises out-of-hours once per client and out-of-hours period (UK time, BST)', async () => {
    // Tuesday 16 June 2026: 17:30 UTC is 18:30 BST (working), 20:30 UTC is 21:30 BST (not).
    await appendAt('2026-06-16T17:30:00.000Z', [lookup('day-client')]);
    await appendAt(
      '2026-06-16T20:30:00.000Z',
      times(3, () => lookup('night-client')),
    );
    // Calls without a valid token are refused before any lookup and belong to no agreement.
    const unauthenticated = {
      partyId: 'unauthenticated',
      roles: [],
      subjectRef: null,
      datasets: [],
      fields: [],
      decision: 'deny',
      reasonCode: 'unauthenticated',
    };
    await appendAt(
      '2026-06-16T20:31:00.000Z',
      times(12, () => lookup('unknown', unauthenticated)),
    );
    const run = await watch('2026-06-16T20:35:00.000Z');
    expect(run.raised.map((a) => [a.rule, a.clientId, a.windowStart, a.windowEnd, a.count])).toEqual([
      ['out-of-hours', 'night-client', '2026-06-16T18:00:00.000Z', '2026-06-17T06:00:00.000Z', 3],
    ]);
    await appendAt('2026-06-16T21:30:00.000Z', [lookup('night-client')]);
    expect((await watch('2026-06-16T21:35:00.000Z')).raised).toEqual([]);
    // Next morning at 07:10 BST the night is over; the next night is a new period.
    await appendAt('2026-06-17T06:10:00.000Z', [lookup('night-client')]);
    expect((await watch('2026-06-17T06:15:00.000Z')).raised).toEqual([]);
    await appendAt('2026-06-17T22:00:00.000Z', [lookup('night-client')]);
    expect((await watch('2026-06-17T22:05:00.000Z')).raised.map((a) => a.windowStart)).toEqual([
      '2026-06-17T18:00:00.000Z',
    ]);
  });

  it('raises no-match-run for ten consecutive failed searches, other refusals neither counting nor breaking the run', async () => {
    const records = [
      ...times(5, () => noMatch('fishing-client')),
      badIdentifier('fishing-client'),
      ...times(5, () => noMatch('fishing-client')),
    ];
    await appendAt(DAY(11, '10:10'), records);
    const run = await watch(DAY(11, '10:15'));
    expect(run.raised.map((a) => [a.rule, a.clientId, a.count, a.windowStart])).toEqual([
      ['no-match-run', 'fishing-client', 10, DAY(11, '10:10')],
    ]);

    // The run goes on: the same alert. A match ends it; ten more failures are a new run.
    await appendAt(
      DAY(11, '10:16'),
      times(5, () => noMatch('fishing-client')),
    );
    expect((await watch(DAY(11, '10:20'))).raised).toEqual([]);
    await appendAt(DAY(11, '10:21'), [lookup('fishing-client'), ...times(10, () => noMatch('fishing-client'))]);
    expect((await watch(DAY(11, '10:25'))).raised.map((a) => [a.count, a.windowStart])).toEqual([
      [10, DAY(11, '10:21')],
    ]);
  });

  it('sees a no-match run behind more refusals that neither count nor break it than one scan reads', async () => {
    await appendAt(DAY(11, '07:00'), [lookup('padding-client')]);
    // A client that has matched nobody since 07:00 has its calls refused as rate limited, fifty
    // thousand of them (written straight to the table: the rules read columns, not the chain).
    const { seq } = await store.db
      .selectFrom('access_log')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirstOrThrow();
    const refused = (i: number) => ({
      seq: Number(seq) + 1 + i,
      time: DAY(11, '08:00'),
      request_id: `padding-${i}`,
      party_id: 'keyways-registered-providers',
      client_id: 'padding-client',
      roles: '["rp-lettings"]',
      purpose: 'housing-allocation',
      action: 'person.search',
      subject_ref: null,
      datasets: '[]',
      fields: '[]',
      decision: 'deny',
      reason_code: 'rate-limited',
      leaf_hash: new Uint8Array(32),
    });
    for (let from = 0; from < 50_000; from += 1_000)
      await store.db
        .insertInto('access_log')
        .values(Array.from({ length: 1_000 }, (_, i) => refused(from + i)))
        .execute();
    await store.db
      .insertInto('access_log')
      .values(
        Array.from({ length: 10 }, (_, i) => ({
          ...refused(50_000 + i),
          time: DAY(11, '10:10'),
          reason_code: 'no-match',
          datasets: '["keyways-housing-register"]',
        })),
      )
      .execute();
    const run = await watch(DAY(11, '10:15'));
    expect(run.raised.map((a) => [a.rule, a.clientId, a.count, a.windowStart])).toEqual([
      ['no-match-run', 'padding-client', 10, DAY(11, '10:10')],
    ]);
  });

  it('sees a no-match run whole when it began before the lookback', async () => {
    await appendAt(DAY(11, '07:00'), [lookup('slow-client')]);
    await appendAt(
      DAY(11, '08:00'),
      times(6, () => noMatch('slow-client')),
    );
    await appendAt(
      DAY(11, '10:20'),
      times(4, () => noMatch('slow-client')),
    );
    const run = await watch(DAY(11, '10:30'));
    expect(run.raised.map((a) => [a.rule, a.count, a.windowStart, a.windowEnd])).toEqual([
      ['no-match-run', 10, DAY(11, '08:00'), DAY(11, '10:20')],
    ]);
  });

  it("counts a no-match run per agreement: another agreement's lookups neither break it nor hide its start", async () => {
    // The same client's lookups in another agreement's dataset (the datasets decide an entry's
    // agreement, entry-agreements.ts): a match there after the run began, before the lookback,
    // and misses there among the run's last.
    const elsewhere = { purpose: 'homelessness-prevention', datasets: ['multiple-disadvantage-indicators'] };
    await appendAt(DAY(11, '07:00'), [lookup('two-agreement-client')]);
    await appendAt(
      DAY(11, '08:00'),
      times(6, () => noMatch('two-agreement-client')),
    );
    await appendAt(DAY(11, '09:00'), [lookup('two-agreement-client', elsewhere)]);
    await appendAt(DAY(11, '10:20'), [
      ...times(4, () => noMatch('two-agreement-client')),
      ...times(9, () => ({ ...noMatch('two-agreement-client'), ...elsewhere })),
    ]);
    const run = await watch(DAY(11, '10:30'));
    expect(run.raised.map((a) => [a.rule, a.agreementId, a.count, a.windowStart, a.windowEnd])).toEqual([
      ['no-match-run', 'keyways-housing-allocation', 10, DAY(11, '08:00'), DAY(11, '10:20')],
    ]);
    expect(run.findingAgreements).toEqual(['keyways-housing-allocation']);
  });

  /**
   * A lookup whose entry the log's writer failed to confirm is answered 503 and its entry is
   * followed by `response-not-sent` under the same request id (request-pipeline.ts), about the
   * same person and datasets and releasing nothing: one lookup, two entries. Counted as lookups,
   * one search was two in a DPO's alerts (found by a review).
   */
  const withFollowUp = (entry: AccessLogRecord, reasonCode = 'response-not-sent'): AccessLogRecord[] => [
    entry,
    { ...entry, fields: [], decision: 'deny', reasonCode },
  ];

  it('counts a lookup followed by response-not-sent once in lookup-volume, and in its baseline', async () => {
    for (let d = 4; d <= 10; d++)
      await appendAt(
        DAY(d, '10:00'),
        times(10, () => lookup('burst-client')).flatMap((e) => withFollowUp(e)),
      );
    // Sixty searches, each followed up: under the floor of a hundred.
    await appendAt(
      DAY(11, '10:05'),
      times(60, () => lookup('followed-client')).flatMap((e) => withFollowUp(e)),
    );
    // A hundred, half of them followed up: over it, by a hundred.
    await appendAt(DAY(11, '10:06'), [
      ...times(50, () => lookup('burst-client')).flatMap((e) => withFollowUp(e)),
      ...times(50, () => lookup('burst-client')),
    ]);
    const run = await watch(DAY(11, '10:30'));
    expect(run.raised.map((a) => [a.rule, a.clientId, a.count])).toEqual([['lookup-volume', 'burst-client', 100]]);
    expect(run.raised[0]!.baseline).toBeCloseTo(70 / 168, 3);
  });

  /**
   * The follow-up alone: the log's writer failed on the lookup's own entry (it never committed)
   * and took the `response-not-sent` that followed it. The search was made all the same.
   */
  const loneFollowUp = (entry: AccessLogRecord, reasonCode = 'response-not-sent'): AccessLogRecord =>
    withFollowUp(entry, reasonCode)[1]!;

  it('counts a lookup whose own entry was never written, only its follow-up, once in lookup-volume', async () => {
    const retried = lookup('burst-client');
    await appendAt(DAY(11, '10:06'), [
      ...times(45, () => lookup('burst-client')).flatMap((e) => withFollowUp(e)),
      ...times(44, () => lookup('burst-client')),
      ...times(9, () => loneFollowUp(lookup('burst-client'))),
      loneFollowUp(retried),
    ]);
    // The caller tries again under the same X-Request-Id: a second search, not the first's entry
    // written late (an entry that was written comes before its follow-up).
    await appendAt(DAY(11, '10:07'), [retried]);
    // 45 followed up, 44 not, 10 whose entry was lost and one retry: a hundred, at the floor.
    const run = await watch(DAY(11, '10:30'));
    expect(run.raised.map((a) => [a.rule, a.clientId, a.count])).toEqual([['lookup-volume', 'burst-client', 100]]);
  });

  it('counts a lookup whose own entry was never written, only its follow-up, in out-of-hours', async () => {
    // Tuesday 16 June 2026, 21:30 BST.
    await appendAt('2026-06-16T20:30:00.000Z', [loneFollowUp(lookup('night-client'))]);
    await appendAt('2026-06-16T20:31:00.000Z', [...withFollowUp(lookup('night-client'))]);
    const run = await watch('2026-06-16T20:35:00.000Z');
    expect(run.raised.map((a) => [a.rule, a.clientId, a.count])).toEqual([['out-of-hours', 'night-client', 2]]);
  });

  it('counts a retry whose own entry was lost, after a first try followed up under the same request id', async () => {
    // Tuesday 16 June 2026, 21:30 BST. The first try's entry was written and its answer lost: it
    // and its response-not-sent are in the log. The caller tries again under the same
    // X-Request-Id, the writer loses that entry too, and takes its follow-up: two searches.
    const tried = lookup('night-client');
    await appendAt('2026-06-16T20:30:00.000Z', withFollowUp(tried));
    await appendAt('2026-06-16T20:31:00.000Z', [loneFollowUp(tried)]);
    const run = await watch('2026-06-16T20:35:00.000Z');
    expect(run.raised.map((a) => [a.rule, a.clientId, a.count])).toEqual([['out-of-hours', 'night-client', 2]]);
  });

  it('counts a lookup whose own entry was lost under a request id its client sends with every call', async () => {
    // Tuesday 16 June 2026, 21:30 BST. A client whose every call carries one and the same
    // X-Request-Id (a UUID fixed in its configuration): a search of one person, answered, and
    // at 21:31 a search of another whose entry the writer lost, leaving its follow-up. The first
    // search's entry, under the same id and never followed up, was taken for the second's own,
    // and the second search was counted by no rule.
    const fixed = '6f1c2b9e-8d4a-4e3b-9a7c-2d5e8f1a0b3c';
    await appendAt('2026-06-16T20:30:00.000Z', [lookup('night-client', { requestId: fixed })]);
    await appendAt('2026-06-16T20:31:00.000Z', [loneFollowUp(lookup('night-client', { requestId: fixed }))]);
    // And the same lost search written between another's entry and that entry's own follow-up
    // (its answer lost): two searches, each counted once.
    const answerLost = withFollowUp(lookup('busy-night-client', { requestId: fixed }));
    await appendAt('2026-06-16T20:32:00.000Z', [
      answerLost[0]!,
      loneFollowUp(lookup('busy-night-client', { requestId: fixed })),
      answerLost[1]!,
    ]);
    const run = await watch('2026-06-16T20:35:00.000Z');
    expect(run.raised.map((a) => [a.rule, a.clientId, a.count]).sort()).toEqual([
      ['out-of-hours', 'busy-night-client', 2],
      ['out-of-hours', 'night-client', 2],
    ]);
  });

  it('raises out-of-hours for a lookup in office hours on a bank holiday, not on the next working day', async () => {
    // Christmas Day 2026 is a Friday and Boxing Day's substitute Monday 28: 10:00 GMT on the
    // Friday is out of hours, in the period from Thursday 19:00 to Tuesday 07:00.
    await appendAt('2026-12-25T10:00:00.000Z', [lookup('holiday-client')]);
    const holiday = await watch('2026-12-25T10:05:00.000Z');
    expect(holiday.raised.map((a) => [a.rule, a.clientId, a.windowStart, a.windowEnd, a.count])).toEqual([
      ['out-of-hours', 'holiday-client', '2026-12-24T19:00:00.000Z', '2026-12-29T07:00:00.000Z', 1],
    ]);
    // The same hour on Tuesday 29 December is working time.
    await appendAt('2026-12-29T10:00:00.000Z', [lookup('holiday-client')]);
    expect((await watch('2026-12-29T10:05:00.000Z')).raised).toEqual([]);
  });

  it('counts a lookup followed by a follow-up entry once in out-of-hours', async () => {
    // Tuesday 16 June 2026, 21:30 BST.
    await appendAt('2026-06-16T20:30:00.000Z', [
      ...withFollowUp(lookup('night-client')),
      ...withFollowUp(lookup('night-client')),
      lookup('night-client'),
      // No lookup is a change today; were one, its follow-up would be no second lookup either.
      ...withFollowUp(lookup('night-client'), 'change-not-committed'),
    ]);
    const run = await watch('2026-06-16T20:35:00.000Z');
    expect(run.raised.map((a) => [a.rule, a.clientId, a.count])).toEqual([['out-of-hours', 'night-client', 4]]);
  });

  it('counts a duplicate check that found nobody, followed by response-not-sent, once in a no-match run', async () => {
    // An allowed duplicate check with no subject is a miss (watch-rules.ts); its follow-up is
    // neither another miss nor a match.
    const miss = () => lookup('checking-client', { action: 'person.duplicate-check', subjectRef: null, fields: [] });
    await appendAt(
      DAY(11, '10:10'),
      times(9, miss).flatMap((e) => withFollowUp(e)),
    );
    expect((await watch(DAY(11, '10:15'))).raised).toEqual([]);
    await appendAt(DAY(11, '10:16'), withFollowUp(miss()));
    expect((await watch(DAY(11, '10:20'))).raised.map((a) => [a.rule, a.clientId, a.count])).toEqual([
      ['no-match-run', 'checking-client', 10],
    ]);
  });

  it('counts a duplicate check that found nobody, whose own entry was never written, in a no-match run', async () => {
    // Only an allowed call is followed up (request-pipeline.ts), about the subject its entry
    // named: the lone follow-up of a duplicate check names nobody when the check found nobody,
    // and the person when it found one.
    const check = (subjectRef: string | null) =>
      lookup('checking-client', { action: 'person.duplicate-check', subjectRef, fields: [] });
    await appendAt(DAY(11, '10:10'), [
      ...times(9, () => check(null)),
      loneFollowUp(check('person-found')),
      ...times(9, () => check(null)),
    ]);
    expect((await watch(DAY(11, '10:15'))).raised).toEqual([]);
    await appendAt(DAY(11, '10:16'), [loneFollowUp(check(null))]);
    expect((await watch(DAY(11, '10:20'))).raised.map((a) => [a.rule, a.clientId, a.count, a.windowStart])).toEqual([
      ['no-match-run', 'checking-client', 10, DAY(11, '10:10')],
    ]);
  });

  it('raises special-category-volume once for a client’s special-category reads, its roles as detail, not for display fields', async () => {
    expect(specialCategoryFields(agreements)).toContain(MAPPA);
    expect(specialCategoryFields(agreements)).not.toContain(FIRST_NAME);
    await appendAt(
      DAY(11, '10:05'),
      times(30, () =>
        lookup('officer-client', {
          partyId: 'kettering-borough-council',
          roles: ['senior-officer', 'housing-officer'],
          fields: [FIRST_NAME, MAPPA],
        }),
      ),
    );
    await appendAt(
      DAY(11, '10:06'),
      times(30, () => lookup('display-client', { fields: [FIRST_NAME] })),
    );
    const run = await watch(DAY(11, '10:30'));
    // Thirty reads by a client holding two roles are one burst: one alert, not one a role.
    expect(run.raised.map((a) => [a.rule, a.clientId, a.partyId, a.role, a.count, a.baseline])).toEqual([
      [
        'special-category-volume',
        'officer-client',
        'kettering-borough-council',
        'housing-officer,senior-officer',
        30,
        0,
      ],
    ]);
    expect((await watch(DAY(11, '10:35'))).raised).toEqual([]);
  });

  /** A council officer's read of a special-category field (MAPPA), under the roles given. */
  const specialRead = (clientId: string, roles = ['senior-officer']) =>
    lookup(clientId, { partyId: 'kettering-borough-council', roles, fields: [FIRST_NAME, MAPPA] });

  it('raises a new volume alert for the reads in its window after a breach was opened from it', async () => {
    await appendAt(
      DAY(11, '10:05'),
      times(150, () => specialRead('officer-client')),
    );
    const first = (await watch(DAY(11, '10:30'))).raised;
    expect(first.map((a) => [a.rule, a.count])).toEqual([
      ['lookup-volume', 150],
      ['special-category-volume', 150],
    ]);
    // Twenty more before the DPO acts, which no run has seen yet: they are the acted-on alerts' own.
    await appendAt(
      DAY(11, '10:33'),
      times(20, () => specialRead('officer-client')),
    );
    for (const alert of first) await openBreach(store, agreements, alert.id, 'dpo-client', new Date(DAY(11, '10:35')));
    await appendAt(
      DAY(11, '10:40'),
      times(5, () => specialRead('officer-client', ['housing-officer'])),
    );
    const again = (await watch(DAY(11, '10:45'))).raised;
    expect(again.map((a) => [a.rule, a.status, a.role, a.count, a.windowStart, a.windowEnd])).toEqual([
      ['lookup-volume', 'open', null, 5, DAY(11, '10:35'), DAY(11, '11:05')],
      ['special-category-volume', 'open', 'housing-officer', 5, DAY(11, '10:35'), DAY(11, '11:05')],
    ]);
    expect((await watch(DAY(11, '10:50'))).raised).toEqual([]);
    const alerts = await listAlerts(store, { scope: KEYWAYS, limit: 100 });
    expect(alerts.map((a) => [a.rule, a.status, a.role, a.count]).sort()).toEqual([
      ['lookup-volume', 'breach-opened', null, 170],
      ['lookup-volume', 'open', null, 5],
      ['special-category-volume', 'breach-opened', 'senior-officer', 170],
      ['special-category-volume', 'open', 'housing-officer', 5],
    ]);
  });

  it('raises special-category-volume for a burst across the hour, which no clock hour holds enough of', async () => {
    // 30 special-category reads 10:50–11:10: over the floor of 20 in any sixty minutes that hold
    // them, but 12 and 18 in the clock hours. The last are made under a second role too.
    for (let minute = 50; minute <= 70; minute += 5)
      await appendAt(
        afterTen(minute),
        times(6, () =>
          specialRead('burst-client', minute < 70 ? ['senior-officer'] : ['senior-officer', 'housing-officer']),
        ),
      );
    // The timer, every five minutes, from before the burst to well after it.
    const raised = [];
    for (let minute = 50; minute <= 135; minute += 5) raised.push(...(await watch(afterTen(minute, 30))).raised);
    expect(raised.map((a) => [a.rule, a.clientId, a.windowStart, a.windowEnd])).toEqual([
      ['special-category-volume', 'burst-client', DAY(11, '10:50'), DAY(11, '11:50')],
    ]);
    // One alert, grown to the whole burst, with the roles of all of it.
    expect((await listAlerts(store, { scope: KEYWAYS, limit: 100 })).map((a) => [a.count, a.role])).toEqual([
      [30, 'housing-officer,senior-officer'],
    ]);
  });

  it('raises a special-category-volume burst that goes on for hours once an hour, from its own first minute', async () => {
    // 3 reads every five minutes 10:30–12:25 (36 in any sixty minutes, 18 in the clock hours at
    // either end), the timer two minutes after each, and on after.
    const raised = [];
    for (let minute = 30; minute < 150; minute += 5) {
      await appendAt(
        afterTen(minute),
        times(3, () => specialRead('steady-client')),
      );
      raised.push(...(await watch(afterTen(minute + 2))).raised);
    }
    for (let minute = 150; minute <= 230; minute += 5) raised.push(...(await watch(afterTen(minute))).raised);
    // The second is raised at 11:47, when 11:15–12:15 holds 21, 12 of them after 11:30: shown
    // from 11:15, not from 11:30, where it then held 12, under the floor of 20.
    expect(raised.map((a) => [a.windowStart, a.windowEnd])).toEqual([
      [DAY(11, '10:30'), DAY(11, '11:30')],
      [DAY(11, '11:15'), DAY(11, '12:30')],
    ]);
    const alerts = await listAlerts(store, { scope: KEYWAYS, limit: 100 });
    expect(alerts.map((a) => [a.windowStart, a.count, a.role]).sort()).toEqual([
      [DAY(11, '10:30'), 36, 'senior-officer'],
      [DAY(11, '11:15'), 45, 'senior-officer'],
    ]);
  });

  it('does not raise again a special-category burst alerted by the clock hour before windows slid', async () => {
    await appendAt(
      DAY(11, '10:05'),
      times(30, () => specialRead('officer-client')),
    );
    const byClockHour = await raiseAlert(
      store,
      {
        rule: 'special-category-volume',
        clientId: 'officer-client',
        partyId: 'kettering-borough-council',
        agreementId: 'keyways-housing-allocation',
        role: 'senior-officer',
        windowStart: DAY(11, '10:00'),
        windowEnd: DAY(11, '11:00'),
        count: 30,
        baseline: 0,
        windowKey: DAY(11, '10:00'),
      },
      new Date(DAY(11, '10:10')),
    );
    expect(byClockHour).toBeDefined();
    expect((await watch(DAY(11, '10:30'))).raised).toEqual([]);
    expect((await watch(DAY(11, '11:03'))).raised).toEqual([]);
    expect((await listAlerts(store, { scope: KEYWAYS, limit: 100 })).map((a) => a.id)).toEqual([byClockHour!.id]);
  });

  it('turns an alert into a breach record with the ICO deadline 72 hours after awareness', async () => {
    await appendAt(
      DAY(11, '10:05'),
      times(120, () => lookup('spiky-client')),
    );
    const [alert] = (await watch(DAY(11, '10:30'))).raised;
    const awareAt = new Date(DAY(11, '14:00'));
    const opened = await openBreach(store, agreements, alert!.id, 'dev-client-kettering-borough-council', awareAt);
    expect(opened?.created).toBe(true);
    expect(opened?.breach).toMatchObject({
      alertId: alert!.id,
      openedAt: DAY(11, '14:00'),
      openedBy: 'dev-client-kettering-borough-council',
      icoDeadline: DAY(14, '14:00'),
      status: 'open',
      hoursRemaining: 72,
      overdue: false,
    });
    expect(icoDeadline(awareAt).getTime() - awareAt.getTime()).toBe(72 * 3600_000);
    expect((await findAlert(store, alert!.id))?.status).toBe('breach-opened');

    // Opening it again later shows the same record, the clock unchanged.
    const again = await openBreach(store, agreements, alert!.id, 'another-dpo-client', new Date(DAY(12, '16:00')));
    expect(again?.created).toBe(false);
    expect(again?.breach).toMatchObject({ id: opened!.breach.id, icoDeadline: DAY(14, '14:00'), hoursRemaining: 46 });
    const later = await listBreaches(store, agreements, KEYWAYS, new Date(DAY(14, '15:30')), { limit: 10 });
    expect(later.map((b) => [b.id, b.hoursRemaining, b.overdue])).toEqual([[opened!.breach.id, -1.5, true]]);
    expect(
      await listBreaches(
        store,
        agreements,
        { agreementIds: ['social-care-education-housing'], parties: ['la-housing'] },
        new Date(DAY(12, '16:00')),
        { limit: 10 },
      ),
    ).toEqual([]);

    expect(
      await openBreach(store, agreements, '0'.repeat(32), 'dev-client-kettering-borough-council', awareAt),
    ).toBeUndefined();
  });
});
