import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgreementSet } from '../../../shared/agreements/agreement-set.js';
import { loadAgreements } from '../../../shared/agreements/load.js';
import { AGREEMENTS_DIR, agreementFile, changedAgreementText } from '../agreements/agreement-files.js';
import { createImportHarness, type ImportHarness } from './import-harness.js';

/**
 * A partner that sends semicolon-separated text over SFTP cannot set the blob metadata that
 * declares it: the agreement declares it for that source instead (`delimiters` on the dataset),
 * and only for that source.
 */

const MDI = 'multiple-disadvantage-indicators';
const LINES = [
  'firstName;lastName;dateOfBirth;homePostcode;inRentArrears',
  'Erin;Hale;1980-02-03;ME14 1XX;Y',
  'Finn;Moss;1975-04-05;ME15 2YY;N',
];

describe('a delimiter the agreement declares for a source', () => {
  let h: ImportHarness;
  let dir: string;
  let agreements: AgreementSet;

  beforeAll(async () => {
    h = await createImportHarness();
    dir = mkdtempSync(join(tmpdir(), 'lintel-agreements-'));
    cpSync(AGREEMENTS_DIR, dir, { recursive: true });
    writeFileSync(
      join(dir, agreementFile('isa')),
      changedAgreementText('isa', (a) => {
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw YAML
        a.datasets.find((d: any) => d.id === MDI).delimiters = { 'la-housing': 'semicolon' };
      }),
    );
    agreements = loadAgreements(dir);
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads that source’s .csv with it, with no blob metadata', async () => {
    const outcome = await h.importFile(`la-housing/${MDI}/extract-2026-03-01.csv`, LINES.join('\n'), undefined, {
      agreements,
    });
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 2 });
  });

  it('reads another source’s .csv with a comma still', async () => {
    const blobName = `la-childrens-social-care/${MDI}/extract-2026-03-01.csv`;
    const outcome = await h.importFile(blobName, LINES.join('\n'), undefined, { agreements });
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['wrong-delimiter'] });
  });

  it('refuses a file quoted throughout, read with another delimiter than its own, as wrong-delimiter', async () => {
    // Many exports quote every field. Read with a comma, `"Erin";"Hale"` has a semicolon after a
    // closing quote, which is refused as malformed-quote at row 1: the partner would look for a
    // stray quote, not at the delimiter.
    const quoted = LINES.map((line) => line.split(';').map((cell) => `"${cell}"`));
    const blobName = `la-childrens-social-care/${MDI}/extract-2026-03-01.csv`;
    const throughout = quoted.map((cells) => cells.join(';')).join('\r\n');
    expect(await h.importFile(blobName, throughout, undefined, { agreements })).toMatchObject({
      outcome: 'rejected',
      reasons: ['wrong-delimiter'],
    });
    // A header left bare and quoted values: the header is one cell, but the rows after it, read
    // in the same chunk, were refused first.
    const valuesOnly = [LINES[0]!, ...quoted.slice(1).map((cells) => cells.join(';'))].join('\n');
    expect(
      await h.importFile(`la-childrens-social-care/${MDI}/extract-2026-03-02.csv`, valuesOnly, undefined, {
        agreements,
      }),
    ).toMatchObject({ outcome: 'rejected', reasons: ['wrong-delimiter'] });
    // A comma file quoted throughout, named .tsv.
    const commas = quoted.map((cells) => cells.join(',')).join('\n');
    expect(
      await h.importFile(`la-housing/${MDI}/extract-2026-03-03.tsv`, commas, undefined, { agreements }),
    ).toMatchObject({ outcome: 'rejected', reasons: ['wrong-delimiter'] });
  });
});
