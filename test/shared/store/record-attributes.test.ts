import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, openStore, type Store } from '../../../shared/store/database.js';
import {
  attributeLayout,
  attributesText,
  keepAttributeLayout,
  readAttributes,
} from '../../../shared/store/record-attributes.js';

describe('record attributes', () => {
  let store: Store;
  beforeEach(async () => {
    store = openStore({ engine: 'sqlite', path: join(mkdtempSync(join(tmpdir(), 'lintel-attributes-')), 'store.db') });
    await migrateToLatest(store);
  });
  afterEach(async () => {
    await store.close();
  });

  it('reads a record written before layouts (a JSON object) and one written since as the same attributes', async () => {
    // Names of this test's own, so the layout is not already learnt by another test in this process.
    const layout = attributeLayout(['firstName', 'inRentArrears', 'absencePercent', 'sendType', 'beforeAndAfter']);
    await store.db.transaction().execute((trx) => keepAttributeLayout(trx, 'sqlite', layout));
    const row = ['Zoë', false, 12.5, null, 'x'];
    const since = attributesText(layout.id, [0, 1, 2, 3, 4], row);
    const before = JSON.stringify({
      firstName: 'Zoë',
      inRentArrears: false,
      absencePercent: 12.5,
      beforeAndAfter: 'x',
    });

    const [fromSince, fromBefore] = await readAttributes([since, before], store);
    expect(fromSince).toEqual(fromBefore);
    expect(fromSince).not.toHaveProperty('sendType');
    // The names are the layout's, kept once, not the record's.
    expect(since).not.toContain('firstName');
  });

  it('refuses a layout whose id the store holds for other names, and names that do not give their id', async () => {
    const layout = attributeLayout(['caseWorker', 'supportPlan']);
    const other = attributeLayout(['supportPlan', 'caseWorker']);
    await store.db
      .insertInto('attribute_layout')
      .values({ id: layout.id, names: JSON.stringify(other.names) })
      .execute();

    await expect(store.db.transaction().execute((trx) => keepAttributeLayout(trx, 'sqlite', layout))).rejects.toThrow(
      /other names under its id/,
    );
    // Read under the wrong names, the plan's values would be shown as the case worker's.
    await expect(readAttributes([attributesText(layout.id, [0, 1], ['a', 'b'])], store)).rejects.toThrow(
      /do not give its id/,
    );
  });
});
