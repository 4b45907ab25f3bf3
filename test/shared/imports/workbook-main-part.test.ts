import ExcelJS from 'exceljs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImportHarness, storedRecords, type ImportHarness } from './import-harness.js';
import { buildZip, sourcesOf, type ZipSource } from './zip-builder.js';

/**
 * OOXML finds a package's main part through the package relationships, `_rels/.rels` (the
 * relationship of type officeDocument, transitional or strict), not by the name
 * xl/workbook.xml: strict-mode exporters and some non-Excel tools store the workbook elsewhere
 * (xl/workbook2.xml, or workbook.xml at the root with its parts beside it). Such a workbook was
 * refused as `xlsx-unreadable`, and the partner told it could not be read. The workbook is found
 * as OOXML finds it, its own relationships read from beside it, and it loads as any other.
 */
const MDI = 'multiple-disadvantage-indicators';
const blob = (file: string) => `la-housing/${MDI}/${file}`;
const TRANSITIONAL_OFFICE_DOCUMENT =
  'http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument';
const STRICT_OFFICE_DOCUMENT = 'http://purl.oclc.org/ooxml/officeDocument/relationships/officeDocument';

async function workbook(): Promise<ZipSource[]> {
  const book = new ExcelJS.Workbook();
  const sheet = book.addWorksheet('Extract');
  sheet.addRow(['firstName', 'lastName', 'dateOfBirth']);
  for (let i = 0; i < 20; i++) sheet.addRow([`Ann${i}`, 'Smith', '1980-01-01']);
  return sourcesOf(Buffer.from(await book.xlsx.writeBuffer()));
}

const text = (parts: readonly ZipSource[], name: string) =>
  Buffer.concat([...parts.find((p) => p.name === name)!.content()]).toString('utf8');

/** `sources` with each part renamed by `rename` and the text of the named parts rewritten. */
function moved(
  sources: readonly ZipSource[],
  rename: (name: string) => string,
  rewrite: Readonly<Record<string, (text: string) => string>>,
): ZipSource[] {
  return sources.map((s) => {
    const edit = rewrite[s.name];
    const out =
      edit === undefined ? s : { name: s.name, content: () => [Buffer.from(edit(text([s], s.name)), 'utf8')] };
    return { ...out, name: rename(s.name) };
  });
}

/**
 * What a reader that follows the standard checks before opening the package: `_rels/.rels` names
 * a main part of the officeDocument type that the package holds, declared a workbook in the
 * content types, with its own relationships beside it.
 */
function mainPartOf(parts: readonly ZipSource[], type: string): string {
  const rels = text(parts, '_rels/.rels');
  const target = new RegExp(`Type="${type.replaceAll('.', '\\.')}" Target="([^"]+)"`).exec(rels)?.[1];
  expect(target).toBeDefined();
  const main = target!.replace(/^\//, '');
  const names = parts.map((p) => p.name);
  expect(names).toContain(main);
  expect(names).toContain(main.replace(/([^/]+)$/, '_rels/$1.rels'));
  expect(text(parts, '[Content_Types].xml')).toContain(
    `PartName="/${main}" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"`,
  );
  return main;
}

describe('a workbook whose main part is not xl/workbook.xml', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('loads a workbook stored as xl/workbook2.xml, as _rels/.rels names it', async () => {
    const parts = moved(
      await workbook(),
      (name) =>
        ({ 'xl/workbook.xml': 'xl/workbook2.xml', 'xl/_rels/workbook.xml.rels': 'xl/_rels/workbook2.xml.rels' })[
          name
        ] ?? name,
      {
        '_rels/.rels': (t) => t.replace('Target="xl/workbook.xml"', 'Target="xl/workbook2.xml"'),
        '[Content_Types].xml': (t) => t.replace('"/xl/workbook.xml"', '"/xl/workbook2.xml"'),
      },
    );
    expect(mainPartOf(parts, TRANSITIONAL_OFFICE_DOCUMENT)).toBe('xl/workbook2.xml');
    const outcome = await h.importFile(blob('workbook2.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 20 });
    const records = await storedRecords(h.store, 'la-housing', MDI);
    expect(records).toHaveLength(20);
    expect(records[0]).toMatchObject({ given_name: 'ANN0', family_name: 'SMITH', date_of_birth: '1980-01-01' });
  });

  it('loads a workbook stored at the root, its parts beside it, named by the strict relationship type', async () => {
    const parts = moved(await workbook(), (name) => name.replace(/^xl\//, ''), {
      '_rels/.rels': (t) =>
        t
          .replace('Target="xl/workbook.xml"', 'Target="/workbook.xml"')
          .replace(TRANSITIONAL_OFFICE_DOCUMENT, STRICT_OFFICE_DOCUMENT),
      '[Content_Types].xml': (t) => t.replaceAll('"/xl/', '"/'),
    });
    expect(mainPartOf(parts, STRICT_OFFICE_DOCUMENT)).toBe('workbook.xml');
    expect(parts.some((p) => p.name.startsWith('xl/'))).toBe(false);
    const outcome = await h.importFile(blob('root.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 20 });
    const records = await storedRecords(h.store, 'la-housing', MDI);
    expect(records).toHaveLength(20);
    expect(records[19]).toMatchObject({ given_name: 'ANN19', family_name: 'SMITH', date_of_birth: '1980-01-01' });
  });

  it('loads a workbook stored as xl/workbook2.xml from the shared strings it names, a stray xl/sharedStrings.xml beside them left unread', async () => {
    const original = await workbook();
    const parts = moved(
      original,
      (name) =>
        ({
          'xl/workbook.xml': 'xl/workbook2.xml',
          'xl/_rels/workbook.xml.rels': 'xl/_rels/workbook2.xml.rels',
          'xl/sharedStrings.xml': 'xl/strings2.xml',
        })[name] ?? name,
      {
        '_rels/.rels': (t) => t.replace('Target="xl/workbook.xml"', 'Target="xl/workbook2.xml"'),
        'xl/_rels/workbook.xml.rels': (t) => t.replace('Target="sharedStrings.xml"', 'Target="strings2.xml"'),
        '[Content_Types].xml': (t) =>
          t
            .replace('"/xl/workbook.xml"', '"/xl/workbook2.xml"')
            .replace(
              /<Override PartName="\/xl\/sharedStrings\.xml"[^>]*\/>/,
              (o) => o + o.replace('sharedStrings', 'strings2'),
            ),
      },
    );
    // Left by the tool that moved the workbook: another workbook's strings, which no relationship names.
    const stray = text(original, 'xl/sharedStrings.xml').replaceAll('Ann', 'Zed').replaceAll('Smith', 'Jones');
    parts.push({ name: 'xl/sharedStrings.xml', content: () => [Buffer.from(stray, 'utf8')] });
    expect(mainPartOf(parts, TRANSITIONAL_OFFICE_DOCUMENT)).toBe('xl/workbook2.xml');
    expect(text(parts, 'xl/_rels/workbook2.xml.rels')).toContain('Target="strings2.xml"');
    expect(text(parts, 'xl/_rels/workbook2.xml.rels')).not.toContain('Target="sharedStrings.xml"');
    const outcome = await h.importFile(blob('stray-strings.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 20 });
    const records = await storedRecords(h.store, 'la-housing', MDI);
    expect(records).toHaveLength(20);
    expect(records[0]).toMatchObject({ given_name: 'ANN0', family_name: 'SMITH', date_of_birth: '1980-01-01' });
  });

  it('refuses, as unreadable, a package whose _rels/.rels names a main part it does not hold', async () => {
    const parts = moved(await workbook(), (name) => ({ 'xl/workbook.xml': 'xl/workbook2.xml' })[name] ?? name, {
      '_rels/.rels': (t) => t.replace('Target="xl/workbook.xml"', 'Target="xl/gone.xml"'),
    });
    const outcome = await h.importFile(blob('gone.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-unreadable'] });
    expect(await storedRecords(h.store, 'la-housing', MDI)).toEqual([]);
  });

  it('refuses, as unreadable, a package with no workbook and no package relationships', async () => {
    const parts = (await workbook()).filter((p) => p.name !== 'xl/workbook.xml' && p.name !== '_rels/.rels');
    const outcome = await h.importFile(blob('none.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'rejected', reasons: ['xlsx-unreadable'] });
  });
});

/**
 * A workbook at xl/workbook.xml finds its shared strings through its relationships too: exceljs
 * reads them only from xl/sharedStrings.xml, so stored elsewhere they were not read (every text
 * cell refused), and with a stray xl/sharedStrings.xml beside them, that part's strings were
 * loaded into the records in place of the workbook's own.
 */
describe('a workbook at xl/workbook.xml whose shared strings are stored elsewhere', () => {
  let h: ImportHarness;
  beforeEach(async () => {
    h = await createImportHarness();
  });
  afterEach(async () => {
    await h?.close();
  });

  /** The workbook, its shared strings stored as xl/strings2.xml, and its relationships naming them there. */
  const stringsMoved = (original: readonly ZipSource[]) =>
    moved(original, (name) => ({ 'xl/sharedStrings.xml': 'xl/strings2.xml' })[name] ?? name, {
      'xl/_rels/workbook.xml.rels': (t) => t.replace('Target="sharedStrings.xml"', 'Target="strings2.xml"'),
      '[Content_Types].xml': (t) =>
        t.replace(
          /<Override PartName="\/xl\/sharedStrings\.xml"[^>]*\/>/,
          (o) => o + o.replace('sharedStrings', 'strings2'),
        ),
    });

  it('loads it from the shared strings its relationships name', async () => {
    const parts = stringsMoved(await workbook());
    expect(parts.map((p) => p.name)).toContain('xl/workbook.xml');
    expect(parts.map((p) => p.name)).not.toContain('xl/sharedStrings.xml');
    const outcome = await h.importFile(blob('strings-elsewhere.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 20 });
    const records = await storedRecords(h.store, 'la-housing', MDI);
    expect(records[0]).toMatchObject({ given_name: 'ANN0', family_name: 'SMITH', date_of_birth: '1980-01-01' });
  });

  it('loads the names it holds, not those of a stray xl/sharedStrings.xml beside it', async () => {
    const original = await workbook();
    const parts = stringsMoved(original);
    // Another workbook's strings, which no relationship names.
    const stray = text(original, 'xl/sharedStrings.xml').replaceAll('Ann', 'Zed').replaceAll('Smith', 'Jones');
    parts.push({ name: 'xl/sharedStrings.xml', content: () => [Buffer.from(stray, 'utf8')] });
    const outcome = await h.importFile(blob('stray-beside-workbook.xlsx'), await buildZip(parts));
    expect(outcome).toMatchObject({ outcome: 'loaded', loaded: 20 });
    const records = await storedRecords(h.store, 'la-housing', MDI);
    expect(records).toHaveLength(20);
    expect(records.map((r) => r.given_name)).not.toContain('ZED0');
    expect(records[0]).toMatchObject({ given_name: 'ANN0', family_name: 'SMITH', date_of_birth: '1980-01-01' });
  });
});
