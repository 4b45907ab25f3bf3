import { readdirSync, readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportReport } from '../../../shared/imports/import-report.js';
import {
  createImportHarness,
  IMPORT_FIXTURES,
  importFixture,
  storedRecords,
  type ImportHarness,
} from './import-harness.js';
import {
  buildZip,
  repetitiveSheet,
  sharedStringsPart,
  sourcesOf,
  workbookSources,
  type ZipSource,
} from './zip-builder.js';

/**
 * The malformed-file corpus (test/fixtures/imports, made by make-fixtures.ts, plus the files too
 * large or hostile to commit, generated here). Each file must give a clear outcome and a
 * report; a rejected file must leave the store exactly as it was; and no value from any file
 * may appear in a report or a log line.
 */

const TEST_ROOT = new URL('../../', import.meta.url);

const MDI = 'multiple-disadvantage-indicators';
const HOUSING = 'la-housing';

/** Field names and other words that legitimately appear in reports. */
const HEADER_WORDS = new Set(
  [
    'firstName lastName dateOfBirth gender inTemporaryAccommodation inRentArrears arrearsPaymentPlanInPlace atRiskOfEviction',
    'homeAddress homePostcode nationalInsuranceNumber nhsNumber uniquePupilNumber educationSystemId socialCareSystemId ehcp',
    'currentSchool currentSchoolPostcode schoolTotalAbsencePercent schoolLatenessPercent exclusionsThisAcademicYear',
    'name telephoneNumber email address caseReference statutorySupervisionCustodyOrCareDetails religion Female Male',
  ]
    .join(' ')
    .toLowerCase()
    .split(' '),
);

/** Every value of at least five characters in a file (decoded leniently: some files are broken on purpose). */
function valuesOf(content: Buffer): string[] {
  const texts = [content.toString('latin1'), content.toString('utf8')];
  // UTF-16 after a UTF-8 byte order mark too.
  const utf16 = content.subarray(content[0] === 0xef && content[1] === 0xbb && content[2] === 0xbf ? 3 : 0);
  if (utf16[0] === 0xff && utf16[1] === 0xfe) texts.push(utf16.subarray(2).toString('utf16le'));
  if (utf16[0] === 0xfe && utf16[1] === 0xff) texts.push(Buffer.from(utf16.subarray(2)).swap16().toString('utf16le'));
  const values = new Set<string>();
  for (const text of texts) {
    for (const raw of text.split(/[,;\t|\r\n"]+/)) {
      const value = raw.replaceAll('\0', '').trim();
      if (value.length >= 5 && !HEADER_WORDS.has(value.toLowerCase()) && /[A-Za-z0-9]/.test(value)) values.add(value);
    }
  }
  return [...values];
}

const GOOD_VALUES = valuesOf(importFixture('good.csv'));

/** good.xlsx's copies of its 20 data rows in {@link goodWithStoredSheet}'s streamed form. */
const STREAMED_COPIES = 100;
/** The last row's date serial in good.xlsx, and what a changed last digit makes of it. */
const LAST_DATE = /<c r="C21" s="1"><v>(\d+)<\/v>/.exec(
  Buffer.concat([
    ...sourcesOf(importFixture('good.xlsx'))
      .find((s) => s.name === 'xl/worksheets/sheet1.xml')!
      .content(),
  ]).toString('utf8'),
)![1]!;
const CORRUPTED_SERIAL = LAST_DATE.slice(0, -1) + String((Number(LAST_DATE.at(-1)) + 1) % 10);
const CORRUPTED_DATE = new Date(Date.UTC(1899, 11, 30) + Number(CORRUPTED_SERIAL) * 86_400_000)
  .toISOString()
  .slice(0, 10);

function expectNoValues(texts: readonly string[], values: readonly string[]): void {
  const haystack = texts.join('\n');
  const leaked = values.filter((v) => haystack.includes(v));
  expect(leaked).toEqual([]);
}

interface Case {
  readonly file: string;
  readonly content?: () => Buffer | Promise<Buffer>;
  readonly party?: string;
  readonly dataset?: string;
  readonly metadata?: Record<string, string>;
  /** Values to look for in the outputs; default: the file's own. */
  readonly values?: readonly string[];
}

interface Rejected extends Case {
  readonly reasons: readonly string[];
  /**
   * Set when the file is rejected for where or how it was delivered, not for its content (a
   * well-formed file from the wrong party, for an unknown dataset, with a bad delimiter setting,
   * under a name of an unsupported type): such a case is not one of the malformed files.
   */
  readonly rejectedFor?: 'party' | 'dataset' | 'delimiter metadata' | 'file name';
  /** Reasons that must appear among the row errors listed. */
  readonly rowReasons?: readonly string[];
}

interface Loaded extends Case {
  readonly loaded: number;
  readonly rowErrors?: readonly { row: number; column?: string; reason: string }[];
}

const REJECTED: readonly Rejected[] = [
  { file: 'wrong-delimiter.csv', reasons: ['wrong-delimiter'] },
  { file: 'pipe-delimited-as-csv.csv', reasons: ['wrong-delimiter'] },
  { file: 'missing-required-column.csv', reasons: ['missing-required-column'] },
  { file: 'unlisted-extra-column.csv', reasons: ['column-not-in-agreement'] },
  { file: 'column-of-another-party.csv', reasons: ['column-not-supplied-by-party'] },
  { file: 'matching-only-column-of-another-party.csv', reasons: ['column-not-supplied-by-party'] },
  { file: 'duplicate-header.csv', reasons: ['duplicate-column'] },
  { file: 'duplicate-header-spelled-differently.csv', reasons: ['duplicate-column'] },
  { file: 'empty-header-cell.csv', reasons: ['empty-column-name'] },
  { file: 'no-header-row.csv', reasons: ['column-not-in-agreement', 'missing-required-column'] },
  { file: 'empty.csv', reasons: ['empty-file'] },
  { file: 'bom-only.csv', reasons: ['empty-file'] },
  { file: 'blank-lines-only.csv', reasons: ['empty-file'] },
  { file: 'header-only.csv', reasons: ['no-data-rows'] },
  { file: 'invalid-utf8.csv', reasons: ['invalid-utf8'] },
  { file: 'overlong-utf8.csv', reasons: ['invalid-utf8'] },
  { file: 'embedded-nul.csv', reasons: ['nul-byte'] },
  { file: 'utf16le.csv', reasons: ['utf16-encoding'] },
  { file: 'truncated-in-quotes.csv', reasons: ['unterminated-quote'] },
  { file: 'text-after-closing-quote.csv', reasons: ['malformed-quote'] },
  { file: 'all-dates-bad.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['date-calendar', 'date-format'] },
  { file: 'us-dates.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['date-calendar'] },
  {
    file: 'bad-nhs-check-digits.csv',
    reasons: ['bad-row-share-exceeded'],
    rowReasons: ['nhs-number-check-digit', 'nhs-number-placeholder'],
  },
  { file: 'bad-upn-check-letters.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['upn-check-letter'] },
  { file: 'bad-ni-prefixes.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['ni-number-prefix'] },
  { file: 'bad-postcodes.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['postcode-format'] },
  { file: 'bad-flags.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['flag-value'] },
  { file: 'formula-cells.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['formula-like-value'] },
  { file: 'control-characters.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['control-character'] },
  { file: 'missing-required-values.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['missing-value'] },
  { file: 'ragged-rows.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['column-count'] },
  { file: 'unterminated-quote-mid-file.csv', reasons: ['unterminated-quote'] },
  { file: 'too-many-columns.csv', reasons: ['bad-row-share-exceeded'], rowReasons: ['column-count'] },
  { file: 'utf16be.csv', reasons: ['utf16-encoding'] },
  // Refused as nul-byte or invalid-utf8 before, which told the partner nothing of what to mend.
  { file: 'bom-then-utf16le.csv', reasons: ['utf16-encoding'] },
  { file: 'workbook-named-as-csv.csv', reasons: ['workbook-named-as-text'], values: GOOD_VALUES },
  { file: 'legacy-xls-named-as-csv.csv', reasons: ['workbook-named-as-text'] },
  { file: 'pdf-named-as-csv.csv', reasons: ['pdf-named-as-text'] },
  { file: 'cr-only-line-ends.csv', reasons: ['line-endings-cr-only'] },
  { file: 'extract.json', reasons: ['unsupported-file-type'], rejectedFor: 'file name' },
  {
    file: 'good-semicolon.csv',
    metadata: { delimiter: 'colon' },
    reasons: ['unsupported-file-type'],
    rejectedFor: 'delimiter metadata',
  },
  { file: 'good.csv', party: 'kettering-borough-council', reasons: ['party-not-source'], rejectedFor: 'party' },
  { file: 'good.csv', dataset: 'no-such-dataset', reasons: ['unknown-dataset'], rejectedFor: 'dataset' },
  {
    file: 'education-bad-numbers.csv',
    party: 'la-education',
    reasons: ['bad-row-share-exceeded'],
    rowReasons: ['percentage-range', 'percentage-format', 'count-format'],
  },
  {
    file: 'multiple-sheets.xlsx',
    reasons: ['xlsx-multiple-sheets'],
    values: [...GOOD_VALUES, 'Prepared by Ottoline Vexley'],
  },
  {
    file: 'formula-cells.xlsx',
    reasons: ['bad-row-share-exceeded'],
    rowReasons: ['formula-cell'],
    values: GOOD_VALUES,
  },
  { file: 'header-only.xlsx', reasons: ['no-data-rows'] },
  { file: 'not-a-zip.xlsx', reasons: ['xlsx-not-a-zip'] },
  { file: 'encrypted.xlsx', reasons: ['xlsx-encrypted'] },
  {
    file: 'zip-bomb-honest.xlsx',
    content: () => buildZip(workbookSources(() => paddedSheet(200))),
    reasons: ['xlsx-compression-ratio'],
    values: ['Zebulon', 'Bombadil'],
  },
  {
    file: 'zip-bomb-lying-headers.xlsx',
    content: () => buildZip(workbookSources(() => paddedSheet(200), 4096)),
    reasons: ['xlsx-uncompressed-too-large'],
    values: ['Zebulon', 'Bombadil'],
  },
  {
    // Shared strings first, so exceljs streams the worksheet rather than spooling it to disk.
    file: 'zip-bomb-lying-headers-streamed.xlsx',
    content: () =>
      buildZip(workbookSources(() => paddedSheet(200), 4096, { content: () => sharedStringsPart(['Zenobia']) })),
    reasons: ['xlsx-uncompressed-too-large'],
    values: ['Zebulon', 'Bombadil', 'Zenobia'],
  },
  {
    file: 'zip-bomb-in-shared-strings.xlsx',
    content: () =>
      buildZip(
        workbookSources(() => paddedSheet(0), undefined, {
          content: () => sharedStringsPart(['Zenobia'], 200),
          declaredSize: 2048,
        }),
      ),
    reasons: ['xlsx-uncompressed-too-large'],
    values: ['Zebulon', 'Bombadil', 'Zenobia'],
  },
  // The same with sizes in descriptors of the other forms APPNOTE allows (read by the central
  // directory's sizes since they are no longer refused): still stopped while inflating.
  {
    file: 'zip-bomb-lying-headers-unsigned-descriptors.xlsx',
    content: () =>
      buildZip(
        workbookSources(() => paddedSheet(200), 4096),
        { dataDescriptors: true, descriptorSignature: false },
      ),
    reasons: ['xlsx-uncompressed-too-large'],
    values: ['Zebulon', 'Bombadil'],
  },
  {
    file: 'zip-bomb-lying-headers-streamed-local-sizes.xlsx',
    content: () =>
      buildZip(
        workbookSources(() => paddedSheet(200), 4096, { content: () => sharedStringsPart(['Zenobia']) }),
        {
          dataDescriptors: true,
          localSizes: true,
        },
      ),
    reasons: ['xlsx-uncompressed-too-large'],
    values: ['Zebulon', 'Bombadil', 'Zenobia'],
  },
  // The same in ZIP64 form as a streaming writer makes it (sizes in 8-byte data descriptors,
  // read in full since they are no longer refused): still refused, for the same reasons.
  {
    file: 'zip-bomb-honest-zip64.xlsx',
    content: () =>
      buildZip(
        workbookSources(() => paddedSheet(200)),
        { zip64: 'ones' },
      ),
    reasons: ['xlsx-compression-ratio'],
    values: ['Zebulon', 'Bombadil'],
  },
  {
    file: 'zip-bomb-lying-headers-zip64.xlsx',
    content: () =>
      buildZip(
        workbookSources(() => paddedSheet(200), 4096),
        { zip64: 'zero' },
      ),
    reasons: ['xlsx-uncompressed-too-large'],
    values: ['Zebulon', 'Bombadil'],
  },
  {
    file: 'zip-bomb-lying-headers-streamed-zip64.xlsx',
    content: () =>
      buildZip(
        workbookSources(() => paddedSheet(200), 4096, { content: () => sharedStringsPart(['Zenobia']) }),
        {
          zip64: 'ones',
        },
      ),
    reasons: ['xlsx-uncompressed-too-large'],
    values: ['Zebulon', 'Bombadil', 'Zenobia'],
  },
  {
    file: 'zip-bomb-in-shared-strings-zip64.xlsx',
    content: () =>
      buildZip(
        workbookSources(() => paddedSheet(0), undefined, {
          content: () => sharedStringsPart(['Zenobia'], 200),
          declaredSize: 2048,
        }),
        { zip64: 'zero' },
      ),
    reasons: ['xlsx-uncompressed-too-large'],
    values: ['Zebulon', 'Bombadil', 'Zenobia'],
  },
  // Damaged copies: bytes that are not what the zip's CRC-32 of the entry says. Stored, a
  // changed byte is a changed cell that inflating cannot notice; each loaded its rows, one wrong.
  {
    file: 'stored-worksheet-corrupted.xlsx',
    content: () => goodWithStoredSheet({ corrupt: true }),
    reasons: ['xlsx-corrupted'],
    values: [...GOOD_VALUES, CORRUPTED_DATE],
  },
  {
    // Read as it inflates: every row has been read, and batches written, before the worksheet's
    // last bytes and so its CRC arrive.
    file: 'stored-worksheet-corrupted-streamed.xlsx',
    content: () => goodWithStoredSheet({ corrupt: true, streamed: true }),
    reasons: ['xlsx-corrupted'],
    values: [...GOOD_VALUES, CORRUPTED_DATE],
  },
  {
    file: 'worksheet-crc-wrong.xlsx',
    content: () => buildZip(withCrcWrong(sourcesOf(importFixture('good.xlsx')), 'xl/worksheets/sheet1.xml')),
    reasons: ['xlsx-corrupted'],
    values: GOOD_VALUES,
  },
  {
    // The wrong CRC in the data descriptors too, which agree with the directory.
    file: 'shared-strings-crc-wrong-zip64-streamed.xlsx',
    content: () =>
      buildZip(withCrcWrong(sourcesOf(importFixture('good.xlsx')), 'xl/sharedStrings.xml'), {
        zip64: 'ones',
      }),
    reasons: ['xlsx-corrupted'],
    values: GOOD_VALUES,
  },
];

/** `sources` with the CRC-32 the headers give for the entry `name` one bit off its bytes'. */
function withCrcWrong(sources: readonly ZipSource[], name: string): ZipSource[] {
  return sources.map((s) =>
    s.name === name ? { ...s, declaredCrc: (crc32(Buffer.concat([...s.content()])) ^ 1) >>> 0 } : s,
  );
}

/**
 * good.xlsx zipped again with its worksheet stored (method 0), as writers store a part that does
 * not shrink; with `corrupt`, the last digit of the last row's date of birth changed after its
 * CRC-32 was taken, as a copy damaged in transfer or storage holds it. In exceljs's order the
 * worksheet is held back until the shared strings after it are read; `streamed` stores it last
 * instead, so it is read as it inflates, with its data rows repeated (renumbered) to some
 * thousands so that whole batches are loaded before its end.
 */
async function goodWithStoredSheet(options: { corrupt?: boolean; streamed?: boolean }): Promise<Buffer> {
  const sources = sourcesOf(importFixture('good.xlsx'));
  const at = sources.findIndex((s) => s.name === 'xl/worksheets/sheet1.xml');
  let sheet = Buffer.concat([...sources[at]!.content()]).toString('utf8');
  if (options.streamed === true) {
    const rows = sheet.match(/<row r="\d+"[^>]*>.*?<\/row>/g)!;
    const [header, ...data] = rows;
    const copies: string[] = [];
    for (let copy = 0; copy < STREAMED_COPIES; copy++)
      for (const [i, row] of data.entries()) {
        const n = 2 + copy * data.length + i;
        copies.push(row.replace(/ r="([A-Z]*)\d+"/g, (_, column: string) => ` r="${column}${n}"`));
      }
    sheet = sheet.replace(rows.join(''), header + copies.join(''));
  }
  const original = Buffer.from(sheet, 'utf8');
  const bytes = Buffer.from(original);
  if (options.corrupt === true) {
    // The last row is good.xlsx's row 21, renumbered or not.
    const last = options.streamed === true ? 1 + 20 * STREAMED_COPIES : 21;
    const cell = `<c r="C${last}" s="1"><v>${LAST_DATE}`;
    const position = bytes.lastIndexOf(cell);
    expect(position).toBeGreaterThan(0);
    const digit = position + cell.length - 1;
    bytes[digit] = CORRUPTED_SERIAL.charCodeAt(CORRUPTED_SERIAL.length - 1);
  }
  const stored: ZipSource = {
    name: sources[at]!.name,
    stored: true,
    content: () => [bytes],
    declaredCrc: crc32(original),
  };
  const others = sources.filter((_, i) => i !== at);
  return buildZip(options.streamed === true ? [...others, stored] : sources.map((s, i) => (i === at ? stored : s)));
}

/** A sheet whose rows are separated by `megabytes` MB of spaces: deflates about 1000 to 1. */
function* paddedSheet(megabytes: number): Iterable<Buffer> {
  const [head] = repetitiveSheet(['firstName', 'lastName', 'dateOfBirth'], [], 0);
  yield head!;
  const spaces = Buffer.alloc(1024 * 1024, 0x20);
  for (let i = 0; i < megabytes; i++) yield spaces;
  yield Buffer.from(
    '<row r="2"><c r="A2" t="inlineStr"><is><t>Zebulon</t></is></c><c r="B2" t="inlineStr"><is><t>Bombadil</t></is></c></row></sheetData></worksheet>',
  );
}

const LOADED: readonly Loaded[] = [
  { file: 'good.csv', loaded: 40 },
  { file: 'good-bom-crlf.csv', loaded: 20 },
  { file: 'good-semicolon.csv', metadata: { delimiter: 'semicolon' }, loaded: 20 },
  { file: 'good.tsv', loaded: 20 },
  { file: 'good-header-variants.csv', loaded: 20 },
  { file: 'good-multiline-address.csv', loaded: 20 },
  { file: 'good-minimal-columns.csv', loaded: 20 },
  { file: 'good-day-first-dates.csv', loaded: 20 },
  // A byte order mark before a header name is trimmed with the surrounding space
  // (String.prototype.trim counts U+FEFF as space): the header still matches.
  { file: 'bom-mid-header.csv', loaded: 10 },
  // A second one at the start is dropped with the first (csv-records.ts, StrictUtf8Decoder): read
  // as text, it made a quoted header's first cell unquoted, quotes and all, and the file was refused
  // as column-not-in-agreement.
  { file: 'double-bom.csv', loaded: 10 },
  { file: 'double-bom-quoted.csv', loaded: 10 },
  { file: 'good.xlsx', loaded: 20, values: GOOD_VALUES },
  {
    // good.xlsx zipped again as a streaming ZIP64 writer zips it.
    file: 'good-zip64-streamed.xlsx',
    content: () => buildZip(sourcesOf(importFixture('good.xlsx')), { zip64: 'ones' }),
    loaded: 20,
    values: GOOD_VALUES,
  },
  {
    // good.xlsx with its worksheet stored (method 0) rather than deflated, held back or streamed.
    file: 'good-stored-worksheet.xlsx',
    content: () => goodWithStoredSheet({}),
    loaded: 20,
    values: GOOD_VALUES,
  },
  {
    file: 'good-stored-worksheet-streamed.xlsx',
    content: () => goodWithStoredSheet({ streamed: true }),
    loaded: 20 * STREAMED_COPIES,
    values: GOOD_VALUES,
  },
  { file: 'education-good.csv', party: 'la-education', loaded: 30 },
  { file: 'keyways-good.csv', party: 'kettering-borough-council', dataset: 'keyways-housing-register', loaded: 20 },
  {
    file: 'housing-first-good.csv',
    party: 'dudley-housing-options',
    dataset: 'housing-first-participant-contacts',
    loaded: 10,
  },
  {
    file: 'some-bad-rows.csv',
    loaded: 57,
    rowErrors: [
      { row: 7, column: 'dateOfBirth', reason: 'date-calendar' },
      { row: 19, column: 'nhsNumber', reason: 'nhs-number-check-digit' },
      { row: 35, column: 'homeAddress', reason: 'formula-like-value' },
    ],
  },
  { file: 'truncated-last-line.csv', loaded: 40, rowErrors: [{ row: 42, reason: 'column-count' }] },
  {
    file: 'ten-megabyte-line.csv',
    content: () => {
      const good = importFixture('good.csv').toString('utf8').trimEnd().split('\n');
      const long = `Quentina,${'Longstreet'.repeat(1_000_000)},1980-01-01,Female,N,N,N,N,1 Lane,ME1 1AA,,,\n`;
      return Buffer.from([...good.slice(0, 21), long.trimEnd(), ...good.slice(21)].join('\n') + '\n');
    },
    loaded: 40,
    rowErrors: [{ row: 22, reason: 'row-too-long' }],
    values: ['Quentina', 'LongstreetLongstreet'],
  },
  {
    file: 'one-long-cell.csv',
    content: () => {
      const good = importFixture('good.csv').toString('utf8').trimEnd().split('\n');
      return Buffer.from(
        [...good, `Quinbert,Quillfeather,1980-01-01,Male,N,N,N,N,${'Hollow '.repeat(12_000)},ME1 1AA,,,`].join('\n'),
      );
    },
    loaded: 40,
    rowErrors: [{ row: 42, column: 'homeAddress', reason: 'value-too-long' }],
    values: ['Quinbert', 'Hollow Hollow'],
  },
];

/** Reasons a file gets for where or how it was delivered, whatever it holds. */
const DELIVERY_REASONS = new Set(['party-not-source', 'unknown-dataset', 'unsupported-file-type']);

/**
 * Every file goes through both ways of preparing rows: on the import's thread, and on the row
 * worker (rowWorkerMinBytes 0; otherwise only files of 1 MiB or more).
 */
const MODES = [
  ['on the import’s thread', Infinity],
  ['on a worker thread', 0],
] as const;

const blobNameOf = (c: Case) => `${c.party ?? HOUSING}/${c.dataset ?? MDI}/${c.file}`;

/**
 * A case's file, generated once for both modes rather than once in each: a zip bomb's 200 MB
 * sheet takes some 0.4 s to deflate, and the import reads the bytes without changing them.
 */
const generated = new Map<Case, Promise<Buffer>>();
const contentOf = (c: Case): Buffer | Promise<Buffer> => {
  if (!c.content) return importFixture(c.file);
  const made = generated.get(c) ?? Promise.resolve(c.content());
  generated.set(c, made);
  return made;
};

describe('import corpus: the fixtures', () => {
  it('has at least 30 malformed files in test/fixtures, and no fixture without a test', () => {
    const onDisk = new Set(readdirSync(IMPORT_FIXTURES).filter((f) => !f.endsWith('.ts')));
    // Only files rejected for what they hold count, each file once.
    const malformed = new Set(
      REJECTED.filter((c) => c.content === undefined && c.rejectedFor === undefined).map((c) => c.file),
    );
    for (const file of malformed) expect(onDisk).toContain(file);
    expect(malformed.size).toBeGreaterThanOrEqual(30);
    // ... and none of them counts for a reason that is not about its content, or the other way round.
    for (const c of REJECTED) {
      const delivery = c.reasons.filter((reason) => DELIVERY_REASONS.has(reason));
      expect([c.file, delivery.length > 0]).toEqual([c.file, c.rejectedFor !== undefined]);
    }
    // A fixture nobody imports is a case somebody meant to test and did not.
    const testsText = readdirSync(TEST_ROOT, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => readFileSync(new URL(f, TEST_ROOT), 'utf8'))
      .join('\n');
    expect([...onDisk].filter((file) => !testsText.includes(`'${file}'`) && !testsText.includes(`/${file}'`))).toEqual(
      [],
    );
  });
});

describe.each(MODES)('import corpus, rows prepared %s: malformed files are rejected whole', (_, rowWorkerMinBytes) => {
  let h: ImportHarness;
  let baseline: Awaited<ReturnType<typeof storedRecords>>;
  let educationBaseline: Awaited<ReturnType<typeof storedRecords>>;

  beforeAll(async () => {
    h = await createImportHarness({ rowWorkerMinBytes, spareRowWorker: true });
    // A loaded snapshot each rejected file must leave untouched.
    expect(
      (await h.importFile(`${HOUSING}/${MDI}/baseline.csv`, importFixture('good-second-snapshot.csv'))).outcome,
    ).toBe('loaded');
    expect((await h.importFile(`la-education/${MDI}/baseline.csv`, importFixture('education-good.csv'))).outcome).toBe(
      'loaded',
    );
    baseline = await storedRecords(h.store, HOUSING, MDI);
    educationBaseline = await storedRecords(h.store, 'la-education', MDI);
    expect(baseline).toHaveLength(15);
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each(
    REJECTED.map(
      (c) =>
        [
          c.file +
            (c.party ? ` as ${c.party}` : '') +
            (c.dataset ? ` for ${c.dataset}` : '') +
            (c.metadata ? ' (delimiter colon)' : ''),
          c,
        ] as const,
    ),
  )('%s', async (_, c) => {
    const content = await contentOf(c);
    const blobName = blobNameOf(c);
    const logStart = h.logLines.length;
    const outcome = await h.importFile(blobName, content, c.metadata);

    expect(outcome).toMatchObject({ outcome: 'rejected' });
    const report = (await h.report('rejected', blobName))!;
    expect(report).toMatchObject({ outcome: 'rejected', counts: { loaded: 0 } });
    expect([...new Set(report.fileErrors.map((e) => e.reason))].sort()).toEqual([...c.reasons].sort());
    for (const reason of c.rowReasons ?? []) expect(report.rowErrors.map((e) => e.reason)).toContain(reason);
    if (c.rowReasons) expect(report.counts.rejected / report.counts.rows).toBeGreaterThan(0.05);

    // Moved to rejected/, gone from incoming, and nothing of it in the store.
    expect(await h.exists('rejected', blobName)).toBe(true);
    expect(await h.exists('incoming', blobName)).toBe(false);
    expect(await storedRecords(h.store, HOUSING, MDI)).toEqual(baseline);
    expect(await storedRecords(h.store, 'la-education', MDI)).toEqual(educationBaseline);
    if (c.party && c.party !== 'la-education')
      expect(await storedRecords(h.store, c.party, c.dataset ?? MDI)).toEqual([]);

    const run = await h.store.db
      .selectFrom('import_run')
      .selectAll()
      .where('id', '=', outcome.outcome === 'rejected' ? outcome.runId : '')
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'rejected', rows_loaded: 0 });

    expectNoValues([JSON.stringify(report), ...h.logLines.slice(logStart)], c.values ?? valuesOf(content));
  });
});

describe.each(MODES)(
  'import corpus, rows prepared %s: well-formed files load, bad rows are reported',
  (_, rowWorkerMinBytes) => {
    let h: ImportHarness;
    beforeAll(async () => {
      h = await createImportHarness({ rowWorkerMinBytes, spareRowWorker: true });
    });
    afterAll(async () => {
      await h?.close();
    });

    it.each(LOADED.map((c) => [c.file, c] as const))('%s', async (_, c) => {
      const content = await contentOf(c);
      const blobName = blobNameOf(c);
      const logStart = h.logLines.length;
      const outcome = await h.importFile(blobName, content, c.metadata);

      expect(outcome).toMatchObject({ outcome: 'loaded', loaded: c.loaded, rejected: c.rowErrors?.length ?? 0 });
      const report: ImportReport = (await h.report('processed', blobName))!;
      expect(report).toMatchObject({
        outcome: 'loaded',
        counts: { loaded: c.loaded, rejected: c.rowErrors?.length ?? 0 },
        fileErrors: [],
      });
      expect(report.rowErrors).toEqual(c.rowErrors ?? []);
      expect(await h.exists('processed', blobName)).toBe(true);
      expect(await h.exists('incoming', blobName)).toBe(false);
      const records = await storedRecords(h.store, c.party ?? HOUSING, c.dataset ?? MDI);
      expect(records).toHaveLength(c.loaded);
      expect(new Set(records.map((r) => r.import_run_id))).toEqual(
        new Set([outcome.outcome === 'loaded' ? outcome.runId : '']),
      );

      expectNoValues([JSON.stringify(report), ...h.logLines.slice(logStart)], c.values ?? valuesOf(content));
    });
  },
);
