// The operator CLIs refuse an option they cannot act on before they touch anything, rather than
// accept it and then do nothing, the wrong thing, or wait forever.
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { CONTAINERS, ensureContainers } from '../../shared/blob/blob-storage.js';
import { createServices } from '../../shared/services.js';
import { aishaOnKeyways, insertRecord, ROBIN_IN_SOCIAL_CARE } from '../support/records.js';
import { testSettings } from '../support/settings.js';
import { minimalEnv } from '../support/child-env.js';
import { runNode } from '../support/script-run.js';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'lintel-cli-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(script: string, args: string[], env: Record<string, string> = {}, timeout = 120_000) {
  return runNode(['--import', import.meta.resolve('tsx'), join(ROOT, script), ...args], {
    cwd: ROOT,
    env: minimalEnv({ LOG_LEVEL: 'error', ...env }),
    timeout,
  });
}

/**
 * A test's own store and key files beside the shared Azurite, as the scripts read them: its own
 * key file too, as a case running beside it may be making one.
 */
function isolated(): Record<string, string> {
  const own = randomUUID();
  return {
    LINTEL_ENV: 'test',
    AzureWebJobsStorage: inject('azuriteConnectionString'),
    SQLITE_PATH: join(dir, `${own}.db`),
    LOCAL_SECRETS_PATH: join(dir, `${own}-secrets.json`),
  };
}

// The extract the import cases give, written once: a case rewriting it while another case's
// script read it could hand that script an empty file.
const EXTRACT = join(dir, 'extract.csv');
writeFileSync(EXTRACT, 'firstName,lastName\nTest,Person\n');

/** The refusal of an --as-of the importer cannot read, naming every form it reads. */
const AS_OF_UNREADABLE =
  'import: --as-of must be a date, YYYY-MM-DD or YYYYMMDD, or a date-time whose time can be read, YYYY-MM-DDThh:mm[:ss][Z|±hh:mm] (or a space for the T) or YYYYMMDDThhmm[ss][Z|±hhmm]';

// Each case is a process of its own, most of it tsx starting: the describes whose cases share
// nothing a case beside them writes run them several at once (each its own exit status and output
// asserted). relink's and purge-dataset's, which make stores through createServices in this
// process, and curate's, one of which holds the export lock in the shared Azurite, run one at a time.
describe.concurrent('npm run import', () => {
  // A --timeout it could not read ended the script with exit 1, as a failure of the run would,
  // and without its usage line, where every other command line it cannot run is refused with exit 2.
  it('refuses a --timeout that is not a number before uploading, instead of waiting forever', async () => {
    const file = EXTRACT;
    const name = `cli-options-${randomUUID()}.csv`;
    const connection = inject('azuriteConnectionString');
    // The containers the local host creates when it starts; no importer runs, so only --timeout
    // (or refusing it) could end the CLI.
    await ensureContainers(BlobServiceClient.fromConnectionString(connection));
    const result = await run(
      'scripts/import.ts',
      [
        file,
        '--party',
        'kettering-borough-council',
        '--dataset',
        'keyways-housing-register',
        '--name',
        name,
        '--timeout',
        'ten',
      ],
      { LINTEL_ENV: 'test', AzureWebJobsStorage: connection },
      45_000,
    );
    const blob = BlobServiceClient.fromConnectionString(connection)
      .getContainerClient(CONTAINERS.incoming)
      .getBlobClient(`kettering-borough-council/keyways-housing-register/${name}`);
    const uploaded = await blob.exists();
    await blob.deleteIfExists();
    expect({ status: result.status, signal: result.signal, uploaded }).toEqual({
      status: 2,
      signal: null,
      uploaded: false,
    });
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('import: --timeout must be a positive number of seconds');
    expect(lines[1]).toMatch(/^usage: npm run import -- <file>/);
  }, 60_000);

  // The importer leaves a `.filepart` alone for the SFTP client's rename (isTemporaryUpload), and
  // nothing here renames it: the script waited out its --timeout (ten minutes by default), then
  // asked whether `npm start` was running, with the file left in incoming.
  it('refuses a name the importer leaves alone as an upload under way, before uploading', async () => {
    const name = `cli-options-${randomUUID()}.csv.FilePart`;
    const file = join(dir, name);
    writeFileSync(file, 'firstName,lastName\nTest,Person\n');
    const connection = inject('azuriteConnectionString');
    await ensureContainers(BlobServiceClient.fromConnectionString(connection));
    const result = await run(
      'scripts/import.ts',
      [file, '--party', 'kettering-borough-council', '--dataset', 'keyways-housing-register', '--timeout', '10'],
      { LINTEL_ENV: 'test', AzureWebJobsStorage: connection },
    );
    const blob = BlobServiceClient.fromConnectionString(connection)
      .getContainerClient(CONTAINERS.incoming)
      .getBlobClient(`kettering-borough-council/keyways-housing-register/${name}`);
    const uploaded = await blob.exists();
    await blob.deleteIfExists();
    expect({ status: result.status, stdout: result.stdout, uploaded }).toEqual({
      status: 2,
      stdout: '',
      uploaded: false,
    });
    expect(result.stderr.trim()).toBe(
      `import: ${name} ends in .filepart, a name the importer leaves alone as an upload still under way: give it another with --name`,
    );
  }, 60_000);

  // `npm run import -- extract-*.csv …` on a folder holding two seedings' extracts uploaded the
  // first file alone, reported its import, and passed over the other without a word.
  it('refuses several files, uploading none, with its usage line (exit 2)', async () => {
    const names = [`cli-options-${randomUUID()}.csv`, `cli-options-${randomUUID()}.csv`];
    for (const name of names) writeFileSync(join(dir, name), 'firstName,lastName\nTest,Person\n');
    const connection = inject('azuriteConnectionString');
    await ensureContainers(BlobServiceClient.fromConnectionString(connection));
    const result = await run(
      'scripts/import.ts',
      [
        ...names.map((name) => join(dir, name)),
        '--party',
        'kettering-borough-council',
        '--dataset',
        'keyways-housing-register',
        '--timeout',
        '10',
      ],
      { LINTEL_ENV: 'test', AzureWebJobsStorage: connection },
    );
    const incoming = BlobServiceClient.fromConnectionString(connection).getContainerClient(CONTAINERS.incoming);
    const uploaded: string[] = [];
    for (const name of names) {
      const blob = incoming.getBlobClient(`kettering-borough-council/keyways-housing-register/${name}`);
      if (await blob.exists()) uploaded.push(name);
      await blob.deleteIfExists();
    }
    expect({ status: result.status, stdout: result.stdout, uploaded }).toEqual({ status: 2, stdout: '', uploaded: [] });
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('import: 2 files given: it imports one file at a time');
    expect(lines[1]).toMatch(/^usage: npm run import -- <file>/);
  }, 60_000);

  // A mistyped --party or --dataset put the partner's file (people's records) into storage under
  // a path no agreement knows, for the importer to reject it into rejected/ as `party-not-source`
  // or `unknown-dataset`: the folders alone decided, and the script's own agreements say as much.
  // An id the agreements do not define is a command line mistyped, answered with the usage line
  // as relink's unknown --agreement is (both were refused without it); a party the agreements
  // define that is not a source of the dataset is the agreements' refusal, named alone.
  it.each([
    [
      'kettering-borough-council',
      'keyways-housing-registr',
      'import: no dataset keyways-housing-registr in the agreements',
      true,
    ],
    [
      'kettering-borough',
      'keyways-housing-register',
      'import: no party kettering-borough in the agreements (the sources of keyways-housing-register: corby-borough-council, kettering-borough-council, wellingborough-borough-council)',
      true,
    ],
    [
      'la-housing',
      'keyways-housing-register',
      'import: la-housing is not a source of keyways-housing-register in the agreements (its sources: corby-borough-council, kettering-borough-council, wellingborough-borough-council)',
      false,
    ],
  ])(
    'refuses --party %s --dataset %s before uploading',
    async (party, dataset, message, withUsage) => {
      const file = EXTRACT;
      const name = `cli-options-${randomUUID()}.csv`;
      const connection = inject('azuriteConnectionString');
      await ensureContainers(BlobServiceClient.fromConnectionString(connection));
      const result = await run(
        'scripts/import.ts',
        [file, '--party', party, '--dataset', dataset, '--name', name, '--timeout', '5'],
        { LINTEL_ENV: 'test', AzureWebJobsStorage: connection },
      );
      const blob = BlobServiceClient.fromConnectionString(connection)
        .getContainerClient(CONTAINERS.incoming)
        .getBlobClient(`${party}/${dataset}/${name}`);
      const uploaded = await blob.exists();
      await blob.deleteIfExists();
      expect({ status: result.status, stdout: result.stdout, uploaded }).toEqual({
        status: 2,
        stdout: '',
        uploaded: false,
      });
      expect(result.stderr.trim().split('\n')).toEqual([
        message,
        ...(withUsage ? [expect.stringMatching(/^usage: npm run import -- <file>/)] : []),
      ]);
    },
    60_000,
  );

  // A typo in the name or these options uploaded the file (people's records) to be rejected: a
  // `.dat` or `--delimiter semi-colon` as `unsupported-file-type` (of a .csv), `--as-of 2026-13-45`
  // as `unreadable-asof`, a date still to come as `future-extract`. The importer's own readings of
  // the name and metadata decide here.
  it.each([
    [
      '.dat',
      [],
      'import: NAME is not a file the importer reads (.csv, .txt, .tsv, .tab or .xlsx): give its name with --name',
      false,
    ],
    // A --delimiter or --as-of it cannot read was refused in one line, without the usage line
    // every other option it cannot read (--timeout) is refused with.
    [
      '.csv',
      ['--delimiter', 'semi-colon'],
      'import: --delimiter must be comma, semicolon, tab or pipe (or the character itself)',
      true,
    ],
    ['.csv', ['--as-of', '2026-13-45'], AS_OF_UNREADABLE, true],
    // A date-time's time is read, as the importer reads it (extract-format.ts): the date before it
    // was once all the message spoke of.
    ['.csv', ['--as-of', '2025-06-30T23:30 BST'], AS_OF_UNREADABLE, true],
    // The importer reads a space for the T (`2025-06-30 23:30:00Z`, as SQL Server and Excel write
    // one), which the refusal did not say: an officer who typed one with a time it cannot read
    // was shown only the T forms, as though the space were the mistake.
    ['.csv', ['--as-of', '2025-06-30 23:30 BST'], AS_OF_UNREADABLE, true],
    [
      '.csv',
      ['--as-of', '2999-01-31'],
      'import: --as-of 2999-01-31 is after today: the importer refuses an extract of a day still to come',
      false,
    ],
    // A --name with a folder in it put the file (people's records) one folder below the dataset's,
    // where the importer rejects it whole as `bad-path`: the officer saw the script wait for a report
    // under a name the importer never reports on, then time out.
    [
      '/extract.csv',
      [],
      'import: NAME is a path: the importer reads a file only directly in incoming/<party>/<dataset>/, and rejects one in a folder below it (bad-path): give --name a file name without /',
      false,
    ],
    // Storage reads a \ in a blob's name as a / (Azurite stored `x\extract.csv` as `x/extract.csv`):
    // the file went one folder below the dataset's as well, to be rejected as `bad-path`, while the
    // script waited for a report under the name it was given, then timed out.
    [
      '\\extract.csv',
      [],
      'import: NAME holds \\, which storage reads as /: the importer reads a file only directly in incoming/<party>/<dataset>/, and rejects one in a folder below it (bad-path): give --name a file name without \\',
      false,
    ],
    [
      '-2999-01-31.csv',
      [],
      'import: the date in the name, 2999-01-31, is after today: the importer refuses an extract of a day still to come (give the day it describes with --as-of)',
      false,
    ],
  ])(
    'refuses a name ending %s with %j before uploading',
    async (ending, options, message, withUsage) => {
      const file = EXTRACT;
      const name = `cli-options-${randomUUID()}${ending}`;
      const connection = inject('azuriteConnectionString');
      await ensureContainers(BlobServiceClient.fromConnectionString(connection));
      const result = await run(
        'scripts/import.ts',
        [
          file,
          '--party',
          'kettering-borough-council',
          '--dataset',
          'keyways-housing-register',
          '--name',
          name,
          ...options,
          '--timeout',
          '5',
        ],
        { LINTEL_ENV: 'test', AzureWebJobsStorage: connection },
      );
      const blob = BlobServiceClient.fromConnectionString(connection)
        .getContainerClient(CONTAINERS.incoming)
        .getBlobClient(`kettering-borough-council/keyways-housing-register/${name}`);
      const uploaded = await blob.exists();
      await blob.deleteIfExists();
      expect({ status: result.status, stdout: result.stdout, uploaded }).toEqual({
        status: 2,
        stdout: '',
        uploaded: false,
      });
      expect(result.stderr.trim().split('\n')).toEqual([
        message.replace('NAME', name),
        ...(withUsage ? [expect.stringMatching(/^usage: npm run import -- <file>/)] : []),
      ]);
    },
    60_000,
  );
});

// A value seed cannot use ended it with exit 1, as a failure of the run would, where every other
// script answers a command line it cannot run with exit 2 and its usage line.
describe.concurrent('npm run seed', () => {
  it.each([
    ['--share', 'abc'],
    ['--share', '0'],
    ['--size', 'many'],
    ['--size', '2.5'],
    ['--profile', 'messy'],
  ])('refuses %s %s with exit 2 and its usage line, writing no extracts', async (option, value) => {
    const out = join(dir, `seed-${randomUUID()}`);
    const result = await run('scripts/seed.ts', ['--no-upload', '--size', '50', option, value, '--out', out], {
      LINTEL_ENV: 'test',
      AzureWebJobsStorage: inject('azuriteConnectionString'),
    });
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(existsSync(out)).toBe(false);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^seed: ${option} must be`));
    expect(lines[1]).toMatch(/^usage: npm run seed -- \[--size/);
  });
});

// An --out whose removal would take the sources with it was refused with exit 1, as a failure of
// the staging would, where the script's own header (and every other script) answers an option
// given wrongly with exit 2 and its usage line.
describe.concurrent('npm run package', () => {
  it.each([['.'], ['..']])('refuses --out %s with exit 2 and its usage line, removing nothing', async (out) => {
    const result = await run('scripts/package.ts', ['--out', out]);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^package: --out must not be the repository or a folder holding it: /);
    expect(lines[1]).toMatch(/^usage: npm run package /);
    expect(existsSync(join(ROOT, 'package.json'))).toBe(true);
  });

  // A file given as --out was removed and a package staged in its place; where no folder can be
  // made (/proc/nope) Node's recursive mkdir spun at full CPU till the child's timeout ended it.
  it.each([
    ['a file', 'FILE', 'package: --out must be a folder: FILE is a file'],
    ['a folder that cannot be made', '/proc/nope', 'package: cannot make the folder /proc/nope for --out (ENOENT)'],
  ])(
    'refuses an --out that is %s in one line (exit 2), staging nothing',
    async (_, given, message) => {
      const file = join(dir, `package-out-${randomUUID()}.txt`);
      writeFileSync(file, 'kept\n');
      const out = given.replace('FILE', file);
      const result = await run('scripts/package.ts', [
        '--out',
        out,
        '--leave-out-uncommitted-agreements',
        '--leave-out-uncommitted-code',
      ]);
      expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
      expect(result.stderr).toBe(`${message.replace('FILE', file)}\n`);
      expect(readFileSync(file, 'utf8')).toBe('kept\n');
    },
    150_000,
  );
});

describe('npm run relink', () => {
  it('--pending --agreement links only that agreement', async () => {
    const settings = testSettings();
    const services = await createServices(settings);
    try {
      await insertRecord(services, aishaOnKeyways());
      await insertRecord(services, ROBIN_IN_SOCIAL_CARE);
      // Neither record has been linked by a pass yet.
      await services.store.db.updateTable('source_record').set({ person_id: null }).execute();
    } finally {
      await services.close();
    }
    const result = await run('scripts/relink.ts', ['--pending', '--agreement', 'keyways-housing-allocation'], {
      LINTEL_ENV: 'test',
      AzureWebJobsStorage: settings.AzureWebJobsStorage!,
      SQLITE_PATH: settings.SQLITE_PATH,
      LOCAL_SECRETS_PATH: settings.LOCAL_SECRETS_PATH,
      DEV_ISSUER_KEY_PATH: settings.DEV_ISSUER_KEY_PATH,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const agreementsLinked = result.stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[0]);
    expect(agreementsLinked).toEqual(['keyways-housing-allocation']);
    const after = await createServices(settings);
    try {
      const people = await after.store.db.selectFrom('source_record').select(['dataset_id', 'person_id']).execute();
      expect(people.find((r) => r.dataset_id === 'keyways-housing-register')?.person_id).not.toBeNull();
      // The social care record belongs to another agreement: --agreement said to leave it alone.
      expect(people.find((r) => r.dataset_id === 'multiple-disadvantage-indicators')?.person_id).toBeNull();
    } finally {
      await after.close();
    }
  });

  // Refused in one line, without the usage line every other command line a script cannot run is
  // refused with.
  it.each([[['--pending']], [[]]])(
    'refuses an unknown agreement with %j, with its usage line (exit 2)',
    async (options) => {
      const result = await run('scripts/relink.ts', [...options, '--agreement', 'no-such-agreement'], isolated());
      expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
      expect(result.stderr.trim().split('\n')).toEqual([
        'relink: no agreement with id no-such-agreement',
        expect.stringMatching(/^usage: npm run relink /),
      ]);
    },
  );
});

describe('npm run purge-dataset', () => {
  const DROPPED = 'multiple-disadvantage-indicators';

  /** The agreements re-signed without the ISA's dataset (renamed), every other file as it is. */
  function resignedFolder(): string {
    const folder = join(dir, `agreements-${randomUUID()}`);
    cpSync(join(ROOT, 'agreements'), folder, { recursive: true });
    const file = join(folder, 'social-care-education-housing.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll(DROPPED, `${DROPPED}-2027`));
    return folder;
  }

  async function storeWithRobin() {
    const settings = testSettings();
    const services = await createServices(settings);
    try {
      await insertRecord(services, ROBIN_IN_SOCIAL_CARE);
    } finally {
      await services.close();
    }
    return {
      settings,
      env: {
        LINTEL_ENV: 'test',
        AzureWebJobsStorage: settings.AzureWebJobsStorage!,
        SQLITE_PATH: settings.SQLITE_PATH,
        LOCAL_SECRETS_PATH: settings.LOCAL_SECRETS_PATH,
        DEV_ISSUER_KEY_PATH: settings.DEV_ISSUER_KEY_PATH,
      },
    };
  }

  async function recordsOf(settings: ReturnType<typeof testSettings>, datasetId: string): Promise<number> {
    const services = await createServices(settings);
    try {
      const rows = await services.store.db
        .selectFrom('source_record')
        .select('id')
        .where('dataset_id', '=', datasetId)
        .execute();
      return rows.length;
    } finally {
      await services.close();
    }
  }

  it('refuses a dataset an agreement still defines (exit 2), deleting nothing', async () => {
    const { settings, env } = await storeWithRobin();
    const result = await run('scripts/purge-dataset.ts', ['--dataset', DROPPED], env);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(result.stderr.trim()).toBe(
      `purge-dataset: dataset ${DROPPED} is still defined by an agreement: only a dataset a re-signing dropped can be purged`,
    );
    expect(await recordsOf(settings, DROPPED)).toBe(1);
  });

  // A dataset no agreement ever defined is a mistyped --dataset: it was refused in one line, by
  // hand, without the usage line import's and relink's mistyped ids are now refused with.
  it('refuses a dataset no agreement ever defined, with its usage line (exit 2), deleting nothing', async () => {
    const { settings, env } = await storeWithRobin();
    const result = await run('scripts/purge-dataset.ts', ['--dataset', `${DROPPED}-typo`], env);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(result.stderr.trim().split('\n')).toEqual([
      `purge-dataset: dataset ${DROPPED}-typo is not one the store remembers any agreement defining`,
      expect.stringMatching(/^usage: npm run purge-dataset -- --dataset/),
    ]);
    expect(await recordsOf(settings, DROPPED)).toBe(1);
  });

  it('refuses a run without --dataset (exit 2)', async () => {
    const result = await run('scripts/purge-dataset.ts', [], isolated());
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(result.stderr).toContain('purge-dataset: --dataset is required');
  });

  it('deletes the records of a dataset the re-signed agreements dropped, printing counts only', async () => {
    const { settings, env } = await storeWithRobin();
    const result = await run('scripts/purge-dataset.ts', ['--dataset', DROPPED], {
      ...env,
      AGREEMENTS_DIR: resignedFolder(),
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      `${DROPPED} (formerly of social-care-education-housing): 1 records of 1 people deleted, ` +
        `with the matching keys earlier loads kept of 0 opted-out people\n`,
    );
    expect(await recordsOf(settings, DROPPED)).toBe(0);
  });
});

describe('npm run curate', () => {
  async function curatedBlobs(): Promise<string[]> {
    const names: string[] = [];
    const blobs = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
    await ensureContainers(blobs);
    for await (const b of blobs.getContainerClient(CONTAINERS.curated).listBlobsFlat()) names.push(b.name);
    return names;
  }

  it.each([
    [
      ['--dry-run'],
      2,
      '',
      "curate: Unknown option '--dry-run'\nusage: npm run curate   (a planning export now: one more release, as the monthly timer makes)",
    ],
    [['--help'], 0, 'usage: npm run curate', ''],
  ])(
    'answers %j without publishing a release (every run is one)',
    async (args, status, stdout, stderr) => {
      const before = await curatedBlobs();
      const result = await run('scripts/curate.ts', args, isolated());
      const written = (await curatedBlobs()).filter((name) => !before.includes(name));
      // Leave the shared Azurite's curated container as it was for other tests.
      const curated = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString')).getContainerClient(
        CONTAINERS.curated,
      );
      for (const name of written) await curated.deleteBlob(name).catch(() => undefined);
      expect({ status: result.status, written }).toEqual({ status, written: [] });
      expect(result.stdout.startsWith(stdout)).toBe(true);
      if (stdout === '') expect(result.stdout).toBe('');
      expect(result.stderr.trim()).toBe(stderr);
    },
    120_000,
  );

  // The monthly timer (or another operator) is exporting: a second run beside it used to heal
  // the first's release away before its SQL commit, and write its own (files and view then apart).
  it('touches nothing while another export holds the lock, and says so with exit 2', async () => {
    const blobs = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
    await ensureContainers(blobs);
    const curated = blobs.getContainerClient(CONTAINERS.curated);
    const lock = curated.getBlockBlobClient('export.lock');
    await lock.upload(Buffer.alloc(0), 0);
    const lease = lock.getBlobLeaseClient();
    await lease.acquireLease(60);
    const before = await curatedBlobs();
    let result;
    try {
      result = await run('scripts/curate.ts', [], isolated());
    } finally {
      await lock.delete({ conditions: { leaseId: lease.leaseId } }).catch(() => undefined);
    }
    const written = (await curatedBlobs()).filter((name) => !before.includes(name));
    for (const name of written) await curated.deleteBlob(name).catch(() => undefined);
    expect({ status: result.status, written, stdout: result.stdout }).toEqual({ status: 2, written: [], stdout: '' });
    expect(result.stderr.trim()).toBe(
      "curate: another planning export is running (the monthly timer's, or another operator's); nothing was written: run it again once that one has ended",
    );
  }, 120_000);
});

// `npm run audit` read only its first argument, so whatever followed the command was passed over:
// `checkpoint --dry-run` signed and anchored a checkpoint, `verify --quiet` verified, and
// `public-key --pem` opened the store to look for a key version named `--pem` — where the README
// says every script refuses a mistyped option with exit 2 before it touches anything.
describe.concurrent('npm run audit', () => {
  const AUDIT_USAGE = 'usage: npm run audit -- verify | checkpoint | public-key [keyId]';
  // The script takes positional arguments, so Node's message adds its hint on `--`.
  const unknownOption = (option: string) =>
    `audit: Unknown option '${option}'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "${option}"`;
  it.each([
    [
      ['checkpoint', '--dry-run'],
      [unknownOption('--dry-run'), AUDIT_USAGE],
    ],
    [
      ['verify', '--quiet'],
      [unknownOption('--quiet'), AUDIT_USAGE],
    ],
    [
      ['public-key', '--pem'],
      [unknownOption('--pem'), AUDIT_USAGE],
    ],
    [
      ['verify', 'now'],
      ["audit: unexpected argument 'now'", AUDIT_USAGE],
    ],
    [
      ['public-key', 'one', 'two'],
      ["audit: unexpected argument 'two'", AUDIT_USAGE],
    ],
    // The usage line alone was the answer to a mistyped command, or none.
    [['verfy'], ["audit: unknown command 'verfy'", AUDIT_USAGE]],
    [[], ['audit: a command is needed', AUDIT_USAGE]],
  ])('refuses %j with exit 2 and its usage line before it opens the store', async (args, stderr) => {
    const settings = isolated();
    const result = await run('scripts/audit.ts', args, settings);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(result.stderr.split('\n')).toEqual([...stderr, '']);
    expect(existsSync(settings.SQLITE_PATH!)).toBe(false);
  });

  // A key version typed wrong was answered `no signing key <id>`, the one line of the script's
  // without its `audit:`, and exit 1, as a log that does not verify is: a scheduler, or a DPO, read
  // a typo as a failure of the log.
  // It was then named alone, where an id the command line names and the store or the agreements do
  // not define (relink's --agreement, purge-dataset's --dataset) is a command line mistyped,
  // followed by the usage line.
  it('refuses public-key with a key version it does not hold, naming it, then its usage line (exit 2)', async () => {
    const result = await run('scripts/audit.ts', ['public-key', 'no-such-version'], isolated());
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(result.stderr.split('\n')).toEqual(['audit: no signing key no-such-version', AUDIT_USAGE, '']);
  });
});

describe.concurrent('the benchmarks', () => {
  // They read their options with Node's strict parser alone: `npm run bench:audit -- --help`
  // ended in a TypeError and its stack trace, where the README promised the usage line.
  it.each(['audit', 'link', 'import', 'retention', 'api'])(
    'bench:%s answers --help with its usage line and refuses an option it does not know, running nothing',
    async (bench) => {
      // The two at once: neither reads what the other makes.
      const [help, refused] = await Promise.all([
        run(`bench/${bench}.ts`, ['--help']),
        run(`bench/${bench}.ts`, ['--nope']),
      ]);
      expect(help.status).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: npm run bench:${bench}\\b`));
      expect(help.stderr).toBe('');

      expect(refused.status).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toBe(`bench:${bench}: Unknown option '--nope'\n${help.stdout}`);
    },
    60_000,
  );
});
