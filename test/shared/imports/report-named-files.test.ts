import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blobProgressSink } from '../../../shared/imports/import-progress.js';
import { createImportHarness, importFixture, type ImportHarness } from './import-harness.js';

/**
 * A handled file goes to processed/ or rejected/ under its path, and its report beside it as
 * `<file>.report.json` (staged first as `<file>.report.<run>[.<finished>].staged`; a load's
 * progress as `<file>.progress.json`). A partner may upload a file named like one of those: moved
 * under its own name it took the place of an earlier file's report (the DPO's evidence of why a
 * file was refused gone), or a later file's report, staged copy or progress was written over it
 * and deleted (the partner's file lost). Such a file is kept under its name with `~` added.
 */
const MDI = 'multiple-disadvantage-indicators';
const file = `la-housing/${MDI}/extract.csv`;
const partnersOwn = Buffer.from('{"note": "the partner\'s own file"}\n', 'utf8');

describe('a partner file named like a report', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness({ maxBadRowShare: 0.04 });
  });
  afterEach(async () => {
    await h?.close();
  });

  const bytes = async (container: 'processed' | 'rejected', name: string) =>
    (await h.exists(container, name))
      ? await h.blobs.getContainerClient(h.containers[container]).getBlobClient(name).downloadToBuffer()
      : undefined;

  /** The rejected extract's report, and the partner's file kept whole beside its own report. */
  async function expectBothKept(runId: string, partnerFile: string) {
    expect(await h.report('rejected', file), "the rejected extract's report must stay").toMatchObject({
      outcome: 'rejected',
      runId,
      file,
      fileErrors: [{ reason: 'bad-row-share-exceeded' }],
    });
    expect((await h.report('rejected', file))!.rowErrors.map((e) => e.row)).toEqual([7, 19, 35]);
    expect(await bytes('rejected', `${partnerFile}~`), "the partner's file must be kept").toEqual(partnersOwn);
    expect(await h.report('rejected', partnerFile)).toMatchObject({
      outcome: 'rejected',
      file: partnerFile,
      fileErrors: [{ reason: 'unsupported-file-type' }],
    });
    expect(await h.blobNames('rejected')).toEqual(
      [file, `${file}.report.json`, `${partnerFile}~`, `${partnerFile}.report.json`].sort(),
    );
  }

  it('does not replace the report of a file rejected before it', async () => {
    const rejected = await h.importFile(file, importFixture('some-bad-rows.csv'));
    expect(rejected).toMatchObject({ outcome: 'rejected', reasons: ['bad-row-share-exceeded'] });
    const partnerFile = `${file}.report.json`;
    expect(await h.importFile(partnerFile, partnersOwn)).toMatchObject({
      outcome: 'rejected',
      reasons: ['unsupported-file-type'],
    });
    await expectBothKept((rejected as { runId: string }).runId, partnerFile);
  });

  it('is not written over by the report of a file rejected after it', async () => {
    const partnerFile = `${file}.report.json`;
    expect(await h.importFile(partnerFile, partnersOwn)).toMatchObject({ outcome: 'rejected' });
    const rejected = await h.importFile(file, importFixture('some-bad-rows.csv'));
    expect(rejected).toMatchObject({ outcome: 'rejected', reasons: ['bad-row-share-exceeded'] });
    await expectBothKept((rejected as { runId: string }).runId, partnerFile);
  });

  it("is not written over, nor deleted, as a rejection's staged report of its name", async () => {
    // The run's id is in its report, and a file uploaded again after its rejection is read again
    // under the same run: the name its next rejection stages its report under can be known.
    const first = await h.importFile(file, importFixture('some-bad-rows.csv'), undefined, {
      now: () => new Date('2026-01-05T09:00:00.000Z'),
    });
    const runId = (first as { runId: string }).runId;
    const partnerFile = `${file}.report.${runId}.20260106T090000000Z.staged`;
    expect(await h.importFile(partnerFile, partnersOwn)).toMatchObject({ outcome: 'rejected' });
    const again = await h.importFile(file, importFixture('some-bad-rows.csv'), undefined, {
      now: () => new Date('2026-01-06T09:00:00.000Z'),
    });
    expect(again).toMatchObject({ outcome: 'rejected', runId });
    await expectBothKept(runId, partnerFile);
  });

  it("does not replace a loaded file's report when its bytes are a duplicate of it", async () => {
    expect(await h.importFile(file, importFixture('good.csv'))).toMatchObject({ outcome: 'loaded', loaded: 40 });
    // Recognised by its bytes before its type: a duplicate, moved where the loaded file went.
    const partnerFile = `${file}.report.json`;
    expect(await h.importFile(partnerFile, importFixture('good.csv'))).toMatchObject({ outcome: 'duplicate' });
    expect(await h.report('processed', file), "the loaded file's report must stay").toMatchObject({
      outcome: 'loaded',
      file,
      counts: { rows: 40, loaded: 40, rejected: 0 },
    });
    expect(await bytes('processed', `${partnerFile}~`)).toEqual(importFixture('good.csv'));
    expect(await h.report('processed', partnerFile)).toMatchObject({
      outcome: 'duplicate',
      duplicateOf: { file, outcome: 'loaded' },
    });
  });

  it("is not deleted as the progress of a load under its name's stem", async () => {
    expect(await h.importFile(file, importFixture('good.csv'))).toMatchObject({ outcome: 'loaded' });
    const next = `la-housing/${MDI}/next.csv`;
    const partnerFile = `${next}.progress.json`;
    expect(await h.importFile(partnerFile, importFixture('good.csv'))).toMatchObject({ outcome: 'duplicate' });
    const progress = (blobName: string) => blobProgressSink(h.blobs, blobName, 0, h.containers.processed);
    expect(
      await h.importFile(next, importFixture('good-second-snapshot.csv'), undefined, { hooks: { progress } }),
    ).toMatchObject({ outcome: 'loaded' });
    expect(await bytes('processed', `${partnerFile}~`), "the partner's file must be kept").toEqual(
      importFixture('good.csv'),
    );
    expect(await h.blobNames('processed')).toEqual(
      [
        file,
        `${file}.report.json`,
        next,
        `${next}.report.json`,
        `${partnerFile}~`,
        `${partnerFile}.report.json`,
      ].sort(),
    );
  });
});
