import { afterAll, beforeAll, expect, it } from 'vitest';
import { overwrittenSince } from '../../../shared/imports/import-runs.js';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import { recordedQueries, sqlitePlanOf } from '../../support/recorded-queries.js';
import { createImportHarness, importFixture, type ImportHarness } from './import-harness.js';

/**
 * Every delivery asks for the runs under its file's name (import-runs.ts, runsUnderName), and a
 * party's dataset gains a run for every file it is ever sent: each asking is a seek by the name
 * (migration 0054), not a read of the dataset's whole history; and the runs under it whose
 * entry may be lost are those not marked logged alone (migration 0055), not the name's whole history.
 */
const file = 'la-housing/multiple-disadvantage-indicators/extract.csv';
let h: ImportHarness;
beforeAll(async () => {
  h = await createImportHarness();
});
afterAll(async () => h?.close());

it("reads the runs under a file's name by a seek on import_run_name, as an overwritten file's deliveries ask for them", async () => {
  const { db, sent } = recordedQueries(h.store.db);
  const store = { ...h.store, db };
  // The file overwritten while its first content is read: its retry finds the name gone, and asks
  // whether the run was overwritten, which runs under the name are unfinished, and which unlogged.
  await h.drop(file, importFixture('good.csv'));
  const overwritingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        await h.drop(file, importFixture('good-second-snapshot.csv'));
        return h.secrets.get(...args);
      },
    },
  });
  await expect(h.run(file, { store, secrets: overwritingSecrets })).rejects.toThrow(/Import failed/);
  await expect(h.run(file, { store })).resolves.toMatchObject({ outcome: 'loaded' });
  await expect(h.run(file, { store })).resolves.toEqual({ outcome: 'gone' });
  // The retry asks overwrittenSince of the first run only where both uploads fall in one second
  // of Last-Modified (else the first is uploaded before, which settles it), as they do on a quick
  // machine but not on a loaded one: asked here as well, so that its plan is checked either way.
  const [first] = await h.store.db.selectFrom('import_run').selectAll().orderBy('received_at').limit(1).execute();
  await overwrittenSince(db, first!);

  const byName = sent.filter(
    (q) => /^select\b/i.test(q.sql) && /from "import_run" where .*"blob_name" = \?/.test(q.sql),
  );
  // overwrittenSince, unfinishedRunsUnder and runsLeftUnlogged, each asked at least once (the
  // last by the name and its mark: test below).
  expect(
    new Set(byName.map((q) => q.sql.replace(/\s+/g, ' ').split(' and "blob_name" = ?')[1])).size,
  ).toBeGreaterThanOrEqual(3);
  for (const read of byName) {
    const plan = await sqlitePlanOf(h.store.db, read);
    expect({ sql: read.sql, plan }).toEqual({
      sql: read.sql,
      plan: expect.stringMatching(
        /SEARCH import_run USING INDEX import_run_name \(party_id=\? AND dataset_id=\? AND blob_name=\?(?: AND entry_logged=\?)?\)/,
      ),
    });
  }
});

it('seeks only the runs under a name not yet marked logged when a delivery looks for lost entries, however many were sent under it', async () => {
  const daily = 'la-housing/multiple-disadvantage-indicators/daily.csv';
  // Contents the test above did not send, each a run of its own under the one name.
  const history = [
    'good-header-variants.csv',
    'good-minimal-columns.csv',
    'good-day-first-dates.csv',
    'good-bom-crlf.csv',
  ];
  const runIds: string[] = [];
  for (const fixture of history) {
    await h.drop(daily, importFixture(fixture));
    const outcome = await h.run(daily);
    expect(outcome.outcome).toMatch(/^(loaded|rejected)$/);
    if ('runId' in outcome) runIds.push(outcome.runId);
  }
  // Each finished with its entry, and marked so.
  expect(
    await h.store.db.selectFrom('import_run').select(['id', 'entry_logged']).where('id', 'in', runIds).execute(),
  ).toEqual(expect.arrayContaining(runIds.map((id) => ({ id, entry_logged: 1 }))));
  expect(new Set(runIds).size).toBe(history.length);

  const { db, sent } = recordedQueries(h.store.db);
  await h.drop(daily, importFixture('good.csv'));
  await h.run(daily, { store: { ...h.store, db } });
  const lostEntries = sent.filter(
    (q) => /^select\b/i.test(q.sql) && /from "import_run" where .*not exists/.test(q.sql),
  );
  expect(lostEntries.length).toBeGreaterThanOrEqual(1);
  for (const read of lostEntries) {
    const plan = await sqlitePlanOf(h.store.db, read);
    expect({ sql: read.sql, plan }).toEqual({
      sql: read.sql,
      plan: expect.stringMatching(
        /SEARCH import_run USING INDEX import_run_name \(party_id=\? AND dataset_id=\? AND blob_name=\? AND entry_logged=\?\)/,
      ),
    });
  }
});
