import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nhs } from '../../support/linked-people.js';
import { createImportHarness, failFirstBlobDeletion, runEntries, type ImportHarness } from './import-harness.js';
import { killImportAtPhase } from './kill-at-phase.js';

/**
 * A report is staged before the run it reports is finished (`processed/<file>.report.<run>.staged`
 * inside a load's transaction, `rejected/<file>.report.<run>.<finished>.staged` before a rejection
 * finishes the run) and removed once published. A process killed between the two left the staged
 * copy for good: the retry stages under a name of its own (a rejection's holds its finish time),
 * or another file of the same bytes finishes the run, and nothing took the first copy away. Once
 * the run's outcome stands and its report is published, none of the file's staged copies remain.
 */
const DATASET = 'multiple-disadvantage-indicators';
const HEADER = 'firstName,lastName,dateOfBirth,homePostcode,nhsNumber';

describe('a process killed after a report was staged, before its run was finished', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => h.close());

  const runs = () => h.store.db.selectFrom('import_run').select(['id', 'status', 'blob_name']).execute();

  it('leaves no staged copy in rejected/ once the retry has rejected the file', async () => {
    const name = `la-housing/${DATASET}/header-only.csv`;
    await h.drop(name, `${HEADER}\n`);
    await killImportAtPhase(h, 'report', name);
    expect(await runs()).toMatchObject([{ status: 'loading' }]);
    expect((await h.blobNames('rejected')).filter((n) => n.endsWith('.staged'))).toHaveLength(1);

    expect(await h.run(name)).toMatchObject({ outcome: 'rejected', reasons: ['no-data-rows'] });
    expect(await h.report('rejected', name)).toMatchObject({ outcome: 'rejected' });
    expect(await h.blobNames('rejected')).toEqual([name, `${name}.report.json`].sort());
    expect(await h.blobNames('processed')).toEqual([]);
  });

  it('leaves no staged copy in rejected/ when the retry that rejected the file breaks off at removing it, the file then overwritten', async () => {
    const name = `la-housing/${DATASET}/header-only.csv`;
    await h.drop(name, `${HEADER}\n`);
    await killImportAtPhase(h, 'report', name);
    const [leftover] = (await h.blobNames('rejected')).filter((n) => n.endsWith('.staged'));

    // The retry rejects the file, and its removal of the killed attempt's copy fails: as a
    // delivery killed there, it goes no further (the file stays in incoming).
    const deletion = failFirstBlobDeletion((blobName) => blobName === leftover);
    try {
      await expect(h.run(name)).rejects.toThrow();
    } finally {
      vi.restoreAllMocks();
    }
    expect(deletion.failed).toBe(true);
    const [rejected] = await runs();
    expect(rejected).toMatchObject({ status: 'rejected' });

    // The partner overwrites the file before the next retry, which loads the later content.
    await h.drop(name, [HEADER, `Mary,Green,1980-05-06,ME15 2YY,${nhs(7102)}`].join('\n'));
    expect(await h.run(name, { now: () => new Date(Date.now() + 5 * 60_000) })).toMatchObject({ outcome: 'loaded' });

    expect(await runEntries(h, rejected!.id)).toEqual([['deny', 'no-data-rows']]);
    expect(await h.blobNames('rejected')).toEqual([`${name}.report.json`]);
  });

  it('leaves no staged copy in processed/ once a copy of the bytes under another name has loaded them', async () => {
    const content = [HEADER, `Mary,Green,1980-05-06,ME15 2YY,${nhs(7102)}`].join('\n');
    const first = `la-housing/${DATASET}/a.csv`;
    const copy = `la-housing/${DATASET}/a-again.csv`;
    await h.drop(first, content);
    await killImportAtPhase(h, 'report', first);
    expect(await runs()).toMatchObject([{ status: 'loading', blob_name: first }]);
    expect((await h.blobNames('processed')).filter((n) => n.endsWith('.staged'))).toHaveLength(1);

    expect(await h.importFile(copy, content)).toMatchObject({ outcome: 'loaded', loaded: 1 });
    expect(await h.run(first)).toMatchObject({ outcome: 'duplicate', of: 'loaded' });
    expect(await h.blobNames('processed')).toEqual([first, `${first}.report.json`, copy, `${copy}.report.json`].sort());
    expect(await h.blobNames('rejected')).toEqual([]);
  });
});
