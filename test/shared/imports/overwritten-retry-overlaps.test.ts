import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import type { Database } from '../../../shared/store/schema.js';
import { gate } from '../../support/gate.js';
import { createImportHarness, importFixture, runEntries, storedRecords, type ImportHarness } from './import-harness.js';

/**
 * A partner overwrites a file in incoming while its import reads it: that attempt breaks off, its
 * run `failed`, and the later content is imported on its own event. When the first content's
 * retry (the queue's, five minutes on) comes while the later content is still in incoming — a
 * large file's load takes longer — both deliveries read the later content, and neither finds the
 * name gone, the one place the first content's run was settled. Left `failed` for good, the run
 * showed in `npm run import` as an import still to retry, and retention read it as an extract
 * still to come.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
  await h.drop(file, importFixture('good.csv'));
});
afterEach(async () => {
  await h?.close();
});

it('settles the overwritten content’s run when its retry and the later content’s event both read the later content', async () => {
  // The key is read after the hash pass and before the rows: the overwrite lands between them.
  const overwritingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        await h.drop(file, importFixture('good-second-snapshot.csv'));
        return h.secrets.get(...args);
      },
    },
  });
  await expect(h.run(file, { secrets: overwritingSecrets })).rejects.toThrow(/Import failed/);
  const [overwritten] = await h.store.db.selectFrom('import_run').selectAll().execute();
  expect(overwritten).toMatchObject({ status: 'failed' });

  // The first content's retry opens the later content and waits for the load's lock, which the
  // later content's event holds (as on SQL Server, where a large file's load holds it for minutes):
  // the event loads it and moves it on, and the retry then finds the run loaded.
  const held = heldAtLoadTransaction(h);
  const retry = h.run(file);
  await held.holding;
  await expect(h.run(file)).resolves.toMatchObject({ outcome: 'loaded', loaded: 15 });
  held.release();
  await expect(retry).resolves.toMatchObject({ outcome: 'duplicate', of: 'loaded' });

  expect(await storedRecords(h.store, 'la-housing', MDI)).toHaveLength(15);
  const first = await h.store.db
    .selectFrom('import_run')
    .selectAll()
    .where('id', '=', overwritten!.id)
    .executeTakeFirst();
  expect(first).toMatchObject({ status: 'rejected', rejection_reason: 'overwritten-in-incoming' });
  expect(await runEntries(h, overwritten!.id)).toEqual([['deny', 'overwritten-in-incoming']]);
  // The name's report is the later content's, which loaded.
  expect(await h.blobNames('rejected')).toEqual([]);
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded', counts: { loaded: 15 } });
});

/**
 * Holds the next transaction begun on the harness's store — a delivery's load, its file open and
 * its rows not read — until `release`; later ones go ahead.
 */
function heldAtLoadTransaction(h: ImportHarness): { holding: Promise<void>; release: () => void } {
  const holding = gate();
  const release = gate();
  const db = h.store.db;
  const transaction = db.transaction.bind(db);
  db.transaction = () => {
    delete (db as Partial<Kysely<Database>>).transaction;
    const builder = transaction();
    const execute = builder.execute.bind(builder);
    builder.execute = async (work) => {
      holding.open();
      await release.opened;
      return execute(work);
    };
    return builder;
  };
  return { holding: holding.opened, release: release.open };
}
