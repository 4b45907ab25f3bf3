import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { SecretSource } from '../../../shared/secrets/secret-source.js';
import { createImportHarness, importFixture, runEntries, type ImportHarness } from './import-harness.js';

/**
 * A partner sends a file, then another content under its name, and while that one's import reads
 * it, sends the first content again over it: the second content's attempt breaks off, its run
 * `failed`. The first content's event finds its bytes loaded before, a duplicate, and moves the
 * file on. The second content was overwritten by another content taken up under its name, as
 * when that content is new (overwritten-retry-overlaps.test.ts): its run is rejected as
 * `overwritten-in-incoming`, with no report, and the name's report stays the loaded one's. It was
 * rejected as `removed-during-import` by the retry that found the name gone, its report in
 * rejected/ beside the processed file that loaded: the content re-sent counted as uploaded when
 * it first was, before the one it overwrote.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
let h: ImportHarness;
beforeEach(async () => {
  h = await createImportHarness();
});
afterEach(async () => {
  await h?.close();
});

it('rejects a content the first content re-sent over it as overwritten, with no report of its own', async () => {
  await h.drop(file, importFixture('good.csv'));
  await expect(h.run(file)).resolves.toMatchObject({ outcome: 'loaded' });
  await h.drop(file, importFixture('good-second-snapshot.csv'));
  // The key is read after the hash pass and before the rows: the re-sent content lands between them.
  const resendingSecrets: SecretSource = Object.create(h.secrets, {
    get: {
      value: async (...args: Parameters<SecretSource['get']>) => {
        // A blob's upload time is to the second: the re-sent content is uploaded in a later one.
        const { uploaded_at } = await h.store.db
          .selectFrom('import_run')
          .select('uploaded_at')
          .where('status', '=', 'loading')
          .executeTakeFirstOrThrow();
        await vi.waitFor(() => expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(uploaded_at!) + 1000), {
          timeout: 2000,
          interval: 20,
        });
        await h.drop(file, importFixture('good.csv'));
        return h.secrets.get(...args);
      },
    },
  });
  await expect(h.run(file, { secrets: resendingSecrets })).rejects.toThrow(/Import failed/);
  const overwritten = await h.store.db
    .selectFrom('import_run')
    .select('id')
    .where('status', '=', 'failed')
    .executeTakeFirstOrThrow();

  await expect(h.run(file)).resolves.toMatchObject({ outcome: 'duplicate', of: 'loaded' });
  await h.run(file); // the broken-off attempt's retry: the name is gone

  const second = await h.store.db
    .selectFrom('import_run')
    .select(['status', 'rejection_reason'])
    .where('id', '=', overwritten.id)
    .executeTakeFirst();
  expect(second).toEqual({ status: 'rejected', rejection_reason: 'overwritten-in-incoming' });
  expect(await runEntries(h, overwritten.id)).toEqual([['deny', 'overwritten-in-incoming']]);
  expect(await h.blobNames('rejected')).toEqual([]);
  expect(await h.report('processed', file)).toMatchObject({ outcome: 'loaded' });
});
