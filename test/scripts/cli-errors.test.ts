// The CLIs a DPO or an operator runs answer a mistake in one line: the setting by name (never its
// value), or the option as typed; never a stack trace.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { AggregateAuthenticationError, ChainedTokenCredential, CredentialUnavailableError } from '@azure/identity';
import { BlobServiceClient, RestError } from '@azure/storage-blob';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { azuriteConnectionString } from '../../local/azurite.js';
import { freePort } from '../../local/free-port.js';
import { failureLine, ownErrorLine } from '../../scripts/cli.js';
import { CONTAINERS, ensureContainers } from '../../shared/blob/blob-storage.js';
import { SecretUnavailableError, SecretVersionGoneError } from '../../shared/secrets/secret-source.js';
import { agreementsFolderWithout } from '../shared/agreements/agreement-files.js';
import { minimalEnv } from '../support/child-env.js';
import { runNode } from '../support/script-run.js';

const ROOT = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'lintel-cli-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/**
 * A store and key file of the case's own, so no script reaches the checkout's local ones, nor
 * (the cases running several at once) another case's while it makes them.
 */
function isolated(): { SQLITE_PATH: string; LOCAL_SECRETS_PATH: string } {
  const own = mkdtempSync(join(dir, 'case-'));
  return { SQLITE_PATH: join(own, 'lintel.db'), LOCAL_SECRETS_PATH: join(own, 'secrets.json') };
}

/** `isolated`, with a development issuer's key of the case's own for token to make. */
function isolatedWithIssuerKey(): Record<string, string> {
  const env = isolated();
  return { ...env, DEV_ISSUER_KEY_PATH: join(dirname(env.SQLITE_PATH), 'dev-issuer-key.json') };
}

// The files the cases read, written once: a case rewriting one while another case's script read it
// could hand that script an empty file.
for (const [name, text] of Object.entries({
  'extract.csv': 'firstName,lastName\nTest,Person\n',
  'link-side.csv': 'firstName,lastName\nA,B\n',
  'link-map.json': JSON.stringify({ left: { columns: {} }, right: { columns: {} } }),
  'notes.txt': 'the housing register, to be loaded on Monday\n',
  'empty.csv': '',
  'seed-out-file.csv': 'not a folder\n',
}))
  writeFileSync(join(dir, name), text);

function run(script: string, args: string[], env: Record<string, string> = {}, cwd = ROOT) {
  return runNode(['--import', import.meta.resolve('tsx'), join(ROOT, script), ...args], {
    cwd,
    env: minimalEnv({ LOG_LEVEL: 'error', ...env }),
    timeout: 60_000,
  });
}

/** The store's module, its migrations, the query builder and the drivers. */
const STORE_MODULES = String.raw`\/shared\/store\/(database\.ts|migrations\/)|\/node_modules\/(kysely|better-sqlite3|mssql|tedious)\/`;
/** The storage SDK and the credential chain blob-storage.ts loads with it. */
const STORAGE_SDK = String.raw`\/node_modules\/@azure\/(storage-blob|identity)\/`;

/** The --import that registers a hook refusing `modules`, by set, written once for every case to read. */
const refusingImports = new Map<string, string>();
function refusingImport(modules: string): string {
  const known = refusingImports.get(modules);
  if (known !== undefined) return known;
  const name = `refuse-${refusingImports.size}`;
  const hooks = join(dir, `${name}-hooks.mjs`);
  writeFileSync(
    hooks,
    `const STORE = new RegExp(${JSON.stringify(modules)});
    export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      const loaded = STORE.exec(resolved.url);
      if (loaded) throw new Error('a module it need not load was loaded: ' + loaded[0]);
      return resolved;
    }`,
  );
  const register = join(dir, `${name}.mjs`);
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  refusingImports.set(modules, pathToFileURL(register).href);
  return pathToFileURL(register).href;
}

/**
 * `run`, with a resolve hook that fails the script if it loads the store's module, its
 * migrations, the query builder or a driver (or, given `modules`, those): what a script refusing
 * its command line need not load.
 */
function runWithoutStore(script: string, args: string[], env: Record<string, string> = {}, modules = STORE_MODULES) {
  return runNode(
    ['--import', import.meta.resolve('tsx'), '--import', refusingImport(modules), join(ROOT, script), ...args],
    {
      cwd: ROOT,
      env: minimalEnv({ LOG_LEVEL: 'error', ...env }),
      timeout: 60_000,
    },
  );
}

/** What `npm run link` wrote to stderr but its notice of a one-off key, which every run without --key prints. */
function linkRefusal(stderr: string): string {
  return stderr.replace('no --key given: pseudonymising under a random key for this run only\n', '').trim();
}

// Each case is a process of its own, most of it tsx starting: several run at once, each with its
// own exit status and output asserted.
describe.concurrent('CLI errors', () => {
  it('npm run token names a mistyped option, and a malformed setting without its value', async () => {
    // The four at once: none touches what another reads.
    const [option, valueless, roleless, setting] = await Promise.all([
      run('scripts/token.ts', ['--party', 'la-housing', '--rol', 'housing-officer']),
      run('scripts/token.ts', ['--role', 'dpo', '--party']),
      run('scripts/token.ts', ['--party', 'la-housing']),
      run('scripts/token.ts', ['--party', 'la-housing', '--role', 'dpo'], { PARTY_CLIENT_IDS: 'not-json-SECRET' }),
    ]);
    expect(option.status).toBe(2);
    expect(option.stderr.trim().split('\n')).toEqual([
      "token: Unknown option '--rol'",
      'usage: npm run token -- --party <party-id> --role <role> [--role <role>] [--minutes 60]',
    ]);
    // An option given without its value is a command line it cannot run as well.
    expect({ status: valueless.status, stdout: valueless.stdout }).toEqual({ status: 2, stdout: '' });
    expect(valueless.stderr.trim().split('\n')).toEqual([
      "token: Option '--party <value>' argument missing",
      'usage: npm run token -- --party <party-id> --role <role> [--role <role>] [--minutes 60]',
    ]);
    // A token without a role, which every endpoint refuses, is not minted.
    expect(roleless.status).toBe(2);
    expect(roleless.stdout).toBe('');
    expect(roleless.stderr).toContain('--role');
    expect(setting.status).toBe(1);
    expect(setting.stderr).toContain('PARTY_CLIENT_IDS');
    expect(setting.stderr).not.toContain('SECRET');
    expect(setting.stderr).not.toMatch(/\n\s+at /);
  });

  // Every script's failure lines (scripts/cli.ts) imported MigrationFailedError from the store's
  // module, and with it the store's whole graph — kysely, both drivers, every migration — for tsx
  // to load before token had read its command line: a mistyped option took some 3 s to refuse (far
  // longer on a loaded machine), where token reads the store only for a party the files do not name.
  it('npm run token refuses a mistyped option without loading the store', async () => {
    const result = await runWithoutStore('scripts/token.ts', ['--bogus']);
    // The refusal first: without the fix it is the hook's error naming the store module loaded.
    expect(result.stderr.trim().split('\n')).toEqual([
      "token: Unknown option '--bogus'",
      'usage: npm run token -- --party <party-id> --role <role> [--role <role>] [--minutes 60]',
    ]);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
  });

  // curate, relink, purge-dataset and audit imported the stack's whole graph (the store, its drivers,
  // every migration) before reading their command line, and migrate the store's: a mistyped option
  // or --help took some 1-2 s, as token's did before it.
  it.each([
    ['scripts/curate.ts'],
    ['scripts/relink.ts'],
    ['scripts/purge-dataset.ts'],
    ['scripts/audit.ts'],
    ['scripts/migrate.ts'],
  ])('%s refuses a mistyped option without loading the store', async (script) => {
    const result = await runWithoutStore(script, ['--bogus']);
    const name = script.slice('scripts/'.length, -'.ts'.length);
    // The refusal first: without the fix it is the hook's error naming the store module loaded.
    const [refusal, usage, ...rest] = result.stderr.split('\n');
    expect({ refusal: refusal?.startsWith(`${name}: Unknown option '--bogus'`), rest }).toEqual({
      refusal: true,
      rest: [''],
    });
    expect(usage).toMatch(new RegExp(`^usage: npm run ${name}\\b`));
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
  });

  // migrate loaded the store's graph before its settings were read, so a SQLITE_PATH that can be
  // no store (a folder, a file that is no SQLite database, one under a file) took some 1 s more to
  // refuse than the configuration check it is.
  it('npm run migrate refuses a SQLITE_PATH that is a folder without loading the store', async () => {
    const result = await runWithoutStore('scripts/migrate.ts', [], { SQLITE_PATH: dir, STORE_ENGINE: 'sqlite' });
    // The refusal first: without the fix it is the hook's error naming the store module loaded.
    expect(result.stderr).toBe(`migrate: Invalid configuration:\n  - SQLITE_PATH: ${dir} is a folder, not a file\n`);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: '' });
  });

  // relink and purge-dataset opened the store (every migration run, its containers made) before
  // they looked up the agreement or dataset typed, which the agreements' files alone decide: an
  // operator's mistyped --agreement, or a dataset an agreement still defines, took some 1-2 s more.
  it.each([
    ['scripts/relink.ts', ['--agreement', 'no-such-agreement'], 'relink: no agreement with id no-such-agreement', true],
    [
      'scripts/purge-dataset.ts',
      ['--dataset', 'keyways-housing-register'],
      'purge-dataset: dataset keyways-housing-register is still defined by an agreement: only a dataset a re-signing dropped can be purged',
      false,
    ],
    [
      'scripts/purge-dataset.ts',
      ['--dataset', 'no-such-dataset', '--party', 'kettering-borough-council'],
      'purge-dataset: dataset no-such-dataset is not defined by any agreement: purge the whole dataset, without --party',
      false,
    ],
    [
      'scripts/purge-dataset.ts',
      ['--dataset', 'keyways-housing-register', '--party', 'kettering-borough-council'],
      'purge-dataset: party kettering-borough-council is still a source of dataset keyways-housing-register: only a source a re-signing dropped can be purged',
      false,
    ],
  ])('%s refuses %j without loading the store', async (script, args, refusal, withUsage) => {
    const result = await runWithoutStore(script, args, {
      ...isolated(),
      LINTEL_ENV: 'test',
      AzureWebJobsStorage: inject('azuriteConnectionString'),
    });
    // The refusal first: without the fix it is the hook's error naming the store module loaded.
    const [line, ...rest] = result.stderr.split('\n');
    expect({ refusal: line, rest }).toEqual({
      refusal,
      rest: withUsage ? [expect.stringMatching(/^usage: npm run relink /), ''] : [''],
    });
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
  });

  // import and seed loaded the storage SDK (and @azure/identity behind it) at the top, for a
  // container's name and an error class, so each took tsx some 1 s more to refuse a command line
  // that never reaches storage: a mistyped option, a number it cannot read, a dataset or party the
  // agreements do not define.
  it.each([
    ['scripts/import.ts', ['extract.csv', '--party', 'p', '--dataset', 'd', '--timeout', 'soon'], '--timeout must be'],
    ['scripts/import.ts', ['extract.csv', '--party', 'p', '--dataset', 'no-such'], 'no dataset no-such in'],
    ['scripts/seed.ts', ['--no-upload', '--size', 'many'], '--size must be'],
    ['scripts/seed.ts', ['--bogus'], "Unknown option '--bogus'"],
  ])('%s refuses %j without loading the storage SDK', async (script, args, refusal) => {
    const result = await runWithoutStore(
      script,
      args.map((arg) => (arg === 'extract.csv' ? join(dir, arg) : arg)),
      {},
      STORAGE_SDK,
    );
    const name = script.slice('scripts/'.length, -'.ts'.length);
    // The refusal first: without the fix it is the hook's error naming the SDK loaded.
    const [line, usage, ...rest] = result.stderr.split('\n');
    expect({ line, rest }).toEqual({ line: expect.stringContaining(`${name}: ${refusal}`), rest: [''] });
    expect(usage).toMatch(new RegExp(`^usage: npm run ${name}\\b`));
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
  });

  // A party the files do not name is looked for among those the store remembers; with no store
  // file there are none, but token loaded the host's whole graph (services.ts) to learn the path.
  it('npm run token refuses a mistyped party without loading the store, where there is no store', async () => {
    const result = await runWithoutStore('scripts/token.ts', ['--party', 'kettering-borough', '--role', 'dpo'], {
      SQLITE_PATH: join(dir, 'no-store-here', 'lintel.db'),
      LOCAL_SECRETS_PATH: isolated().LOCAL_SECRETS_PATH,
    });
    expect(result.stderr.trim().split('\n')).toEqual([
      'token: no party kettering-borough in the agreements',
      expect.stringMatching(/^usage: npm run token -- --party/),
    ]);
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
  });

  // The API drops a role the party holds in no agreement (resolveCaller), so such a token was
  // minted and then refused by every endpoint, as a token without a role is; a mistyped party
  // was answered as a gap in PARTY_CLIENT_IDS.
  it('npm run token refuses a role the party does not hold, and a party no agreement names (exit 2)', async () => {
    const env = isolatedWithIssuerKey();
    // The four at once: the three refused are refused before the key the fourth makes.
    const [typo, mixed, party, held] = await Promise.all([
      run('scripts/token.ts', ['--party', 'kettering-borough-council', '--role', 'housing_officer'], env),
      run(
        'scripts/token.ts',
        ['--party', 'kettering-borough-council', '--role', 'housing-officer', '--role', 'researcher'],
        env,
      ),
      run('scripts/token.ts', ['--party', 'kettering-borough', '--role', 'dpo'], env),
      run('scripts/token.ts', ['--party', 'kettering-borough-council', '--role', 'housing-officer'], env),
    ]);
    expect({ status: typo.status, stdout: typo.stdout }).toEqual({ status: 2, stdout: '' });
    expect(typo.stderr.trim()).toBe(
      'token: party kettering-borough-council holds no role housing_officer in the agreements (its roles: dpo, housing-officer, senior-officer)',
    );
    // One role held and one not: the token would carry the first alone, which is not what was asked.
    expect({ status: mixed.status, stdout: mixed.stdout }).toEqual({ status: 2, stdout: '' });
    expect(mixed.stderr).toContain('holds no role researcher');
    // A party no agreement names is a command line mistyped: the usage line follows, as it does
    // import's unknown --party and relink's unknown --agreement (it was refused without it). A
    // role the party does not hold stays the agreements' refusal, naming the roles it does.
    expect({ status: party.status, stdout: party.stdout }).toEqual({ status: 2, stdout: '' });
    expect(party.stderr.trim().split('\n')).toEqual([
      'token: no party kettering-borough in the agreements',
      expect.stringMatching(/^usage: npm run token -- --party/),
    ]);
    // The roles it holds are minted as before.
    expect(held.stderr).toBe('');
    expect(held.status).toBe(0);
    expect(held.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  // A development issuer's key whose folder could not be made was answered "token: FolderError",
  // naming neither the folder nor the setting that placed it there.
  it('npm run token names DEV_ISSUER_KEY_PATH when its folder cannot be made (exit 1)', async () => {
    const result = await run('scripts/token.ts', ['--party', 'kettering-borough-council', '--role', 'dpo'], {
      ...isolated(),
      DEV_ISSUER_KEY_PATH: '/proc/nope/dev-issuer-key.json',
    });
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: '' });
    expect(result.stderr).toBe(
      'token: Invalid configuration:\n  - DEV_ISSUER_KEY_PATH: cannot make the folder /proc/nope (ENOENT)\n',
    );
  });

  // A party the files do not name is looked for in the store SQLITE_PATH names; a SQLITE_PATH
  // naming a folder, or a file that is no SQLite store, was answered "token: SqliteError", naming
  // neither the setting nor what is wrong with it.
  it('npm run token names SQLITE_PATH when it is a folder or no SQLite store, for a party the files do not name (exit 1)', async () => {
    const env = isolatedWithIssuerKey();
    const folder = mkdtempSync(join(dir, 'store-folder-'));
    const asFolder = await run('scripts/token.ts', ['--party', 'kettering-borough', '--role', 'dpo'], {
      ...env,
      SQLITE_PATH: folder,
    });
    expect({ status: asFolder.status, stdout: asFolder.stdout }).toEqual({ status: 1, stdout: '' });
    expect(asFolder.stderr).toBe(`token: Invalid configuration:\n  - SQLITE_PATH: ${folder} is a folder, not a file\n`);

    const notStore = join(dir, 'not-a-store.db');
    writeFileSync(notStore, 'not a database\n');
    const asText = await run('scripts/token.ts', ['--party', 'kettering-borough', '--role', 'dpo'], {
      ...env,
      SQLITE_PATH: notStore,
    });
    expect({ status: asText.status, stdout: asText.stdout }).toEqual({ status: 1, stdout: '' });
    expect(asText.stderr).toBe(
      `token: Invalid configuration:\n  - SQLITE_PATH: ${notStore} is not a SQLite database\n`,
    );
  });

  // A --minutes out of range was refused in one line, without the usage line that follows every
  // other command line a script cannot run (import's --timeout, seed's --size).
  it.each([['0'], ['1441'], ['an hour'], ['']])(
    'npm run token refuses --minutes %j with its usage line (exit 2)',
    async (minutes) => {
      const result = await run(
        'scripts/token.ts',
        ['--party', 'kettering-borough-council', '--role', 'dpo', '--minutes', minutes],
        {
          ...isolatedWithIssuerKey(),
        },
      );
      expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
      expect(result.stderr.trim().split('\n')).toEqual([
        'token: --minutes must be a whole number from 1 to 1440 (a day)',
        expect.stringMatching(/^usage: npm run token -- --party/),
      ]);
    },
  );

  // An agreement that ended, its file removed, leaves its parties mapped in PARTY_CLIENT_IDS (its
  // DPO still reads its access log: the host accepts them once its store remembers the agreement).
  // The token script, reading the files alone, refused every party's token over the mapping.
  it('npm run token mints a current party its token while PARTY_CLIENT_IDS still maps the parties of an ended agreement', async () => {
    const env = {
      ...isolatedWithIssuerKey(),
      AGREEMENTS_DIR: agreementsFolderWithout(['housingFirst']),
    };
    const held = await run(
      'scripts/token.ts',
      ['--party', 'kettering-borough-council', '--role', 'housing-officer'],
      env,
    );
    expect({ status: held.status, stderr: held.stderr }).toEqual({ status: 0, stderr: '' });
    expect(held.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('npm run audit names a malformed setting in one line', async () => {
    const result = await run('scripts/audit.ts', ['verify'], { CURATED_MIN_CELL: 'abc' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('audit: Invalid configuration:\n  - CURATED_MIN_CELL: must be a number');
  });

  // A file that is no SQLite database was "audit: failed (SqliteError:SQLITE_NOTADB)", as from
  // every script that opens the store through createServices.
  it.each([
    ['scripts/audit.ts', ['verify']],
    ['scripts/purge-dataset.ts', ['--dataset', 'kbc-tenancies']],
  ])('%s names SQLITE_PATH when it is a file that is no SQLite database (exit 1)', async (script, args) => {
    const notes = join(dir, 'notes.txt');
    const result = await run(script, args, {
      ...isolated(),
      AzureWebJobsStorage: inject('azuriteConnectionString'),
      SQLITE_PATH: notes,
    });
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: '' });
    const name = script.replace(/^scripts\/(.*)\.ts$/, '$1');
    expect(result.stderr).toBe(`${name}: Invalid configuration:\n  - SQLITE_PATH: ${notes} is not a SQLite database\n`);
  });

  // Read by Number(), "abc" reached Node as NaN: "audit: failed (RangeError:ERR_SOCKET_BAD_PORT)",
  // naming no variable.
  it.each([
    ['scripts/audit.ts', ['verify']],
    ['scripts/relink.ts', []],
  ])('%s names AZURITE_BLOB_PORT when it is no port (exit 1)', async (script, args) => {
    const result = await run(script, args, {
      ...isolated(),
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      AZURITE_BLOB_PORT: 'abc',
    });
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 1, stdout: '' });
    const name = script.replace(/^scripts\/(.*)\.ts$/, '$1');
    expect(result.stderr).toBe(
      `${name}: Invalid configuration:\n  - AZURITE_BLOB_PORT: must be a port, a whole number from 1 to 65535\n`,
    );
  });

  // LINTEL_HOST_PORT was read after the upload, as NaN: the file went into incoming/ before the
  // script failed on the port, naming no variable.
  it('npm run import names LINTEL_HOST_PORT when it is no port, with nothing uploaded (exit 1)', async () => {
    const connection = inject('azuriteConnectionString');
    const blobs = BlobServiceClient.fromConnectionString(connection);
    await ensureContainers(blobs);
    const file = join(dir, 'import-extract.csv');
    writeFileSync(file, 'firstName,lastName\nTest,Person\n');
    const name = `bad-host-port-${randomUUID()}.csv`;
    const result = await run(
      'scripts/import.ts',
      [file, '--party', 'kettering-borough-council', '--dataset', 'keyways-housing-register', '--name', name],
      { ...isolated(), LINTEL_ENV: 'test', AzureWebJobsStorage: connection, LINTEL_HOST_PORT: 'abc' },
    );
    // One assertion: ci65 saw this exit 2 once, and only the status was shown, not what it refused.
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: 'import: Invalid configuration:\n  - LINTEL_HOST_PORT: must be a port, a whole number from 1 to 65535\n',
    });
    const uploaded = blobs
      .getContainerClient(CONTAINERS.incoming)
      .getBlobClient(`kettering-borough-council/keyways-housing-register/${name}`);
    expect(await uploaded.exists()).toBe(false);
  });

  it.each([['scripts/curate.ts'], ['scripts/relink.ts'], ['scripts/migrate.ts']])(
    '%s names a malformed setting without a stack trace',
    async (script) => {
      const result = await run(script, [], { ...isolated(), CURATED_MIN_CELL: 'abc' });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('CURATED_MIN_CELL');
      expect(result.stderr).not.toContain('abc');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    },
  );

  // audit verify (or checkpoint, or public-key) waited out the SDK's retries too, then named the
  // refusal by its kind alone, having created a store of its own meanwhile.
  it.each([
    ['scripts/curate.ts', []],
    ['scripts/relink.ts', []],
    ['scripts/audit.ts', ['verify']],
  ])(
    '%s says in one line that the local stack is not running',
    async (script, args) => {
      const port = await freePort();
      const result = await run(script, args, {
        ...isolated(),
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AZURITE_BLOB_PORT: String(port),
      });
      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('is the local host (npm start) running?');
      // Said before any storage call (whose retries took some 18 s to give up), naming the port.
      expect(result.stderr).toContain(`no Azurite on port ${port}`);
    },
    60_000,
  );

  // The stack was up when seeding began and went away before the uploads (`npm start` stopped,
  // and its Azurite with it): a loopback blob endpoint nothing listens on is refused as it is.
  // Seed printed Node's bare `seed: connect ECONNREFUSED 127.0.0.1:<port>`, which says neither
  // what refused nor what to do, where import, curate and relink ask whether `npm start` is running.
  it('npm run seed, storage refusing the uploads, asks whether the local host is running, in one line (exit 1)', async () => {
    const port = await freePort();
    const result = await run('scripts/seed.ts', ['--size', '10', '--out', join(dir, 'seed-refused')], {
      ...isolated(),
      LINTEL_ENV: 'test',
      AzureWebJobsStorage: azuriteConnectionString(port),
    });
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('is the local host (npm start) running?');
    expect(result.stderr).not.toContain('ECONNREFUSED 127.0.0.1');
    expect(result.status).toBe(1);
  }, 60_000);

  // Node's recursive mkdir spins where the kernel answers ENOENT under a folder that is there:
  // `--out /proc/nope` sat at 90% CPU until killed (the child's timeout ends it here, status null).
  // An --out that was a file was answered with Node's bare `EEXIST: file already exists, mkdir`.
  it.each([
    ['/proc/nope', 'seed: cannot make the folder /proc/nope for --out (ENOENT)'],
    ['FILE', 'seed: --out must be a folder: FILE is a file'],
    ['FILE/extracts', 'seed: --out must be a folder: FILE is a file'],
  ])(
    'npm run seed names an --out %s it cannot write into, in one line (exit 2)',
    async (out, message) => {
      const file = join(dir, 'seed-out-file.csv');
      const result = await run('scripts/seed.ts', ['--size', '10', '--no-upload', '--out', out.replace('FILE', file)], {
        ...isolated(),
        LINTEL_ENV: 'test',
      });
      expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
      expect(result.stderr).toBe(`${message.replace('FILE', file)}\n`);
    },
    90_000,
  );

  // An operator adding a partner as agreements/README.md says, who mistyped its id in a grant or
  // mapped a client id to a party no agreement names, was told only
  // "relink: failed (AgreementValidationError)" (or PartyDirectoryError) by curate, relink,
  // purge-dataset and audit, where npm start, seed and token name the file and line, or the setting.
  describe('a mistake in the agreements or PARTY_CLIENT_IDS', () => {
    const agreements = join(dir, 'agreements-mistyped-party');
    cpSync(join(ROOT, 'agreements'), agreements, { recursive: true });
    const isa = join(agreements, 'social-care-education-housing.yaml');
    writeFileSync(
      isa,
      readFileSync(isa, 'utf8').replace('parties: [social-housing-providers]', 'parties: [social-housing-provider]'),
    );
    const scripts: [string, string[]][] = [
      ['scripts/curate.ts', []],
      ['scripts/relink.ts', ['--pending']],
      ['scripts/purge-dataset.ts', ['--dataset', 'no-such-dataset']],
      ['scripts/audit.ts', ['verify']],
    ];
    const stack = () => ({ ...isolated(), LINTEL_ENV: 'test', AzureWebJobsStorage: inject('azuriteConnectionString') });

    it.each(scripts)('%s names the agreement file and what is wrong in it', async (script, args) => {
      const result = await run(script, args, { ...stack(), AGREEMENTS_DIR: agreements, PARTY_CLIENT_IDS: '{}' });
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('social-care-education-housing.yaml: grants[');
      expect(result.stderr).toContain("grant names unknown party 'social-housing-provider'");
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it.each(scripts)(
      '%s names PARTY_CLIENT_IDS and the party no agreement knows, not the client id',
      async (script, args) => {
        const result = await run(script, args, { ...stack(), PARTY_CLIENT_IDS: '{"client-SECRET":"riverside-homes"}' });
        expect(result.status).toBe(1);
        expect(result.stderr.trim()).toBe(
          `${script.slice('scripts/'.length, -'.ts'.length)}: PARTY_CLIENT_IDS: party 'riverside-homes' is not a party to any loaded agreement`,
        );
        expect(result.stderr).not.toContain('SECRET');
      },
    );
  });

  // A newcomer's copy of local.settings.example.json with a slip in it (a comma after the last
  // value) was named by seed and import with its line and column, but by token, curate, relink,
  // migrate and purge-dataset as "failed (Error)", and by audit with a stack trace.
  describe('a local.settings.json that is not JSON', () => {
    const checkout = mkdtempSync(join(dir, 'checkout-settings-malformed-'));
    const settingsFile = join(checkout, 'local.settings.json');
    writeFileSync(settingsFile, '{"Values":{"MSSQL_CONNECTION_STRING":"Hunter2-sa-password",}}');

    it.each([
      ['scripts/token.ts', ['--party', 'la-housing', '--role', 'housing-officer']],
      ['scripts/curate.ts', []],
      ['scripts/relink.ts', []],
      ['scripts/migrate.ts', []],
      ['scripts/purge-dataset.ts', ['--dataset', 'no-such-dataset']],
      ['scripts/audit.ts', ['verify']],
    ])('%s names the file and where in it, quoting nothing of it (exit 1)', async (script, args) => {
      const result = await run(script, args, {}, checkout);
      expect(result.stderr.split('\n')).toEqual([
        `${script.slice('scripts/'.length, -'.ts'.length)}: ${settingsFile}: not valid JSON at line 1, column 60`,
        '',
      ]);
      expect(result.status).toBe(1);
    });
  });

  // Before, seed, import, token and relink refused --help as an unknown option, and link
  // answered "link failed: TypeError (ERR_PARSE_ARGS_UNKNOWN_OPTION)".
  it.each([
    ['scripts/seed.ts', 'npm run seed -- [--size'],
    ['scripts/import.ts', 'npm run import -- <file> --party'],
    ['scripts/link.ts', 'npm run link -- --left'],
    ['scripts/relink.ts', 'npm run relink [-- [--agreement'],
    ['scripts/audit.ts', 'npm run audit -- verify'],
    [
      'scripts/package.ts',
      'npm run package [-- [--out <dir>] [--leave-out-uncommitted-agreements] [--leave-out-uncommitted-code]]',
    ],
  ])('%s answers --help with its usage line, touching nothing', async (script, usage) => {
    const result = await run(script, ['--help'], isolated());
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`usage: ${result.stdout.slice('usage: '.length)}`);
    expect(result.stdout).toContain(usage);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
  });

  // npm keeps an option typed before the `--` for itself: relink's usage line read
  // "npm run relink [-- --agreement <id>] [--pending]", and `npm run relink --pending`, typed as it
  // reads, relinked every agreement from scratch instead of only what no pass had linked.
  it.each([
    ['scripts/seed.ts'],
    ['scripts/import.ts'],
    ['scripts/token.ts'],
    ['scripts/link.ts'],
    ['scripts/relink.ts'],
    ['scripts/purge-dataset.ts'],
    ['scripts/package.ts'],
  ])('%s shows every option after the -- that npm passes it through', async (script) => {
    const usage = (await run(script, ['--help'], isolated())).stdout.trim();
    const passedFrom = usage.search(/(?<=[\s[])--(?=\s)/);
    expect(passedFrom).toBeGreaterThan(0);
    expect(usage.slice(0, passedFrom)).not.toMatch(/\s\[?--?[a-z]/);
    // Once the optional group the `--` is in closes, what follows is typed without it.
    const depthAtPass = [...usage.slice(0, passedFrom)].reduce((d, c) => d + (c === '[' ? 1 : c === ']' ? -1 : 0), 0);
    let depth = depthAtPass;
    let groupClosed = false;
    const leftToNpm: string[] = [];
    for (const token of usage.slice(passedFrom + 2).split(/(?=[[\]\s])|(?<=[[\]\s])/)) {
      if (token === '[') depth += 1;
      else if (token === ']') depth -= 1;
      if (depth < depthAtPass) groupClosed = true;
      if (groupClosed && /^--?[a-z]/.test(token)) leftToNpm.push(token);
    }
    expect(leftToNpm).toEqual([]);
  });

  // Before, the file was first read after the stack was found and the agreements checked: a
  // mistyped path with the stack down was answered "no Azurite", and once it was up, with Node's
  // "ENOENT: …, stat" or, for a folder, "EISDIR: illegal operation on a directory, read" (which
  // folder unsaid). An empty file was uploaded to be rejected as `empty-file`.
  it.each([
    ['no-such-extract.csv', 'import: no file PATH'],
    ['', 'import: PATH is a folder, not a file'],
    ['empty.csv', 'import: PATH is empty: the importer rejects an empty file'],
  ])('npm run import refuses %j before looking for the stack (exit 2)', async (name, message) => {
    const path = join(dir, name);
    const port = await freePort();
    const result = await run(
      'scripts/import.ts',
      [path, '--party', 'kettering-borough-council', '--dataset', 'keyways-housing-register'],
      { ...isolated(), AzureWebJobsStorage: 'UseDevelopmentStorage=true', AZURITE_BLOB_PORT: String(port) },
    );
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(result.stderr.trim()).toBe(message.replace('PATH', path));
  });

  // The README's link command run before any seeding passes the shell's unexpanded
  // `extract-*.csv`: link crashed with Node's unhandled 'error' event and a stack trace (a --map
  // that was no file gave "link failed: Error (ENOENT)", which file unsaid).
  it.each([
    ['--left', 'extract-*.csv', 'link: no file PATH (--left)'],
    ['--right', '', 'link: PATH is a folder, not a file (--right)'],
    ['--map', 'no-such-map.json', 'link: no file PATH (--map)'],
    ['--truth', 'no-such-truth.csv', 'link: no file PATH (--truth)'],
  ])('npm run link names a %s that is no file, in one line (exit 2)', async (option, name, message) => {
    const csv = join(dir, 'link-side.csv');
    const map = join(dir, 'link-map.json');
    const given: Record<string, string> = {
      '--left': csv,
      '--right': csv,
      '--map': map,
      '--out': join(dir, 'pairs.csv'),
    };
    const path = join(dir, name);
    given[option] = path;
    const result = await run('scripts/link.ts', Object.entries(given).flat(), isolated());
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(linkRefusal(result.stderr)).toBe(message.replace('PATH', path));
  });

  // A --map that was no JSON (a CSV given in its place, say) was answered "link failed:
  // SyntaxError" with exit 1, where a map of the wrong shape is refused with exit 2 naming the map.
  // The parser's own message is not repeated: it quotes the file, which may be a partner's rows.
  it('npm run link refuses a --map that is not JSON, naming the option and quoting nothing of it (exit 2)', async () => {
    const csv = join(dir, 'link-side.csv');
    const result = await run(
      'scripts/link.ts',
      ['--left', csv, '--right', csv, '--map', csv, '--out', join(dir, 'pairs-not-json.csv')],
      isolated(),
    );
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    const lines = linkRefusal(result.stderr).split('\n');
    expect(lines).toEqual([`link: --map ${csv} is not JSON`, expect.stringMatching(/^usage: npm run link -- --left/)]);
  });

  // The pairs are written after the whole run: an --out into a folder that is not there was
  // answered at its end with "link failed: Error (ENOENT)", exit 1, naming no option.
  it('npm run link refuses an --out in a folder that is not there, before linking (exit 2)', async () => {
    const csv = join(dir, 'link-side.csv');
    const map = join(dir, 'link-map.json');
    const folder = join(dir, 'no-such-folder');
    const result = await run(
      'scripts/link.ts',
      ['--left', csv, '--right', csv, '--map', map, '--out', join(folder, 'pairs.csv')],
      isolated(),
    );
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(linkRefusal(result.stderr).split('\n')).toEqual([
      `link: no folder ${folder} for --out`,
      expect.stringMatching(/^usage: npm run link -- --left/),
    ]);
  });

  // A folder given as --out (`.lintel` for `.lintel/pairs.csv`) was answered after the whole run
  // with "link failed: Error (EISDIR)", exit 1, naming neither the option nor the folder.
  it('npm run link refuses an --out that is a folder, before linking (exit 2)', async () => {
    const csv = join(dir, 'link-side.csv');
    const map = join(dir, 'link-map.json');
    const result = await run(
      'scripts/link.ts',
      ['--left', csv, '--right', csv, '--map', map, '--out', dir],
      isolated(),
    );
    expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
    expect(linkRefusal(result.stderr).split('\n')).toEqual([
      `link: --out ${dir} is a folder, not a file`,
      expect.stringMatching(/^usage: npm run link -- --left/),
    ]);
  });

  // Number('') is 0: an empty --review-threshold (an unset shell variable, say) was read as 0
  // and the run went on with that threshold, exit 0, where any other unreadable value is refused.
  it.each([[''], [' '], ['two per cent']])(
    'npm run link refuses --review-threshold %j with its usage line (exit 2)',
    async (threshold) => {
      const csv = join(dir, 'link-side.csv');
      const map = join(dir, 'link-map.json');
      const out = join(dir, 'pairs-threshold.csv');
      const result = await run(
        'scripts/link.ts',
        ['--left', csv, '--right', csv, '--map', map, '--out', out, '--review-threshold', threshold],
        isolated(),
      );
      expect({ status: result.status, stdout: result.stdout }).toEqual({ status: 2, stdout: '' });
      const lines = linkRefusal(result.stderr).split('\n');
      expect(lines).toEqual([
        'link: --review-threshold must be a number between 0 and 1',
        expect.stringMatching(/^usage: npm run link -- --left/),
      ]);
    },
  );

  it('npm run import names what is missing, with its usage (exit 2)', async () => {
    const result = await run('scripts/import.ts', ['some.csv', '--party', 'la-housing'], isolated());
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('import: a file, --party and --dataset are needed');
    expect(result.stderr).toContain('usage: npm run import -- <file>');
  });

  // An unknown option was named in one line, without the usage line that follows every other
  // command line a script cannot run (a value it cannot read, an id the agreements do not define).
  it.each([
    [
      'scripts/curate.ts',
      "curate: Unknown option '--dry-run'",
      'usage: npm run curate   (a planning export now: one more release, as the monthly timer makes)',
    ],
    [
      'scripts/relink.ts',
      "relink: Unknown option '--dry-run'",
      'usage: npm run relink [-- [--agreement <id>] [--pending]]',
    ],
    [
      'scripts/migrate.ts',
      "migrate: Unknown option '--dry-run'",
      "usage: npm run migrate   (applies the store's pending migrations, then lists them all)",
    ],
    [
      'scripts/seed.ts',
      "seed: Unknown option '--dry-run'",
      'usage: npm run seed -- [--size 2000] [--share 0.3] [--seed lintel-demo] [--profile clean|typical|hard] [--out .lintel/seed] [--no-upload] [--remote]',
    ],
    [
      'scripts/import.ts',
      // A script taking a file adds Node's hint on `--`.
      `import: Unknown option '--dry-run'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--dry-run"`,
      'usage: npm run import -- <file> --party <party-id> --dataset <dataset-id> [--name <file name>] [--delimiter comma|semicolon|tab|pipe] [--as-of YYYY-MM-DD] [--timeout <seconds>] [--remote]',
    ],
  ])('%s names an unknown option, then its usage line (exit 2)', async (script, refusal, usage) => {
    const result = await run(script, ['--dry-run'], isolated());
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([refusal, usage, '']);
  });
});

// Against Azure the scripts sign in as the operator (DefaultAzureCredential). An identity without
// the data-plane role was answered `curate: failed (RestError)`, which says neither what refused
// nor what to do. The service's message is never printed: it quotes the account and the blob.
describe.concurrent("an Azure service refusing the operator's identity", () => {
  const BLOB_MESSAGE =
    'This request is not authorized to perform this operation using this permission.\nRequestId:0f3c\nTime:2026-12-06T09:00:00Z https://stlintelprod.blob.core.windows.net/curated/export.lock';
  const leaked = (line: string): string[] =>
    ['stlintelprod', 'export.lock', 'RequestId', 'not authorized', 'kv-lintel', 'audit-signing-key'].filter((s) =>
      line.includes(s),
    );

  it.each([['AuthorizationPermissionMismatch'], ['AuthorizationFailure']])(
    'names a blob storage 403 %s by status and code, and the role and README section it needs',
    async (code) => {
      const line = failureLine('curate', new RestError(BLOB_MESSAGE, { statusCode: 403, code }));
      expect(line).toBe(
        `curate: blob storage refused this identity (403 ${code}): it needs the Storage Blob Data Contributor role on the container it uses (infra/README.md, "Operator access")\n`,
      );
      expect(leaked(line)).toEqual([]);
    },
  );

  it('reads the code from the response header when a body-less answer (HEAD) carries none', async () => {
    const err = Object.assign(new RestError(BLOB_MESSAGE, { statusCode: 403 }), {
      details: { errorCode: 'AuthorizationPermissionMismatch' },
    });
    expect(failureLine('audit', err)).toBe(
      'audit: blob storage refused this identity (403 AuthorizationPermissionMismatch): it needs the Storage Blob Data Contributor role on the container it uses (infra/README.md, "Operator access")\n',
    );
  });

  it('names a refusal under an error of ours (a lease lost, say) by what refused it', async () => {
    const refusal = new RestError(BLOB_MESSAGE, { statusCode: 403, code: 'AuthorizationPermissionMismatch' });
    const line = failureLine('curate', new Error('The lease on a lock blob was lost while held', { cause: refusal }));
    expect(line).toContain('blob storage refused this identity (403 AuthorizationPermissionMismatch)');
    expect(leaked(line)).toEqual([]);
  });

  it('names a Key Vault 403 by status and code, and the role it needs on the vault', async () => {
    const refusal = Object.assign(
      new RestError('Caller is not authorized to perform action on resource. Vault: kv-lintel-abc;location=uksouth', {
        statusCode: 403,
        code: 'Forbidden',
      }),
      { details: { error: { code: 'Forbidden', innerError: { code: 'ForbiddenByRbac' } } } },
    );
    const line = failureLine('audit', new SecretUnavailableError('audit-signing-key', { cause: refusal }));
    expect(line).toBe(
      'audit: Key Vault refused this identity (403 Forbidden, ForbiddenByRbac): it needs the Key Vault Secrets User role on the vault (infra/README.md, "Operator access")\n',
    );
    expect(leaked(line)).toEqual([]);
  });

  it('names a secret version gone (403 SecretDisabled) by secret and version, and any other failure by its kind', async () => {
    const disabled = Object.assign(
      new RestError('Operation get is not allowed on a disabled secret.', { statusCode: 403, code: 'Forbidden' }),
      {
        details: { error: { innerError: { code: 'SecretDisabled' } } },
      },
    );
    expect(failureLine('audit', new SecretVersionGoneError('audit-signing-key', '3f2a9c', { cause: disabled }))).toBe(
      'audit: Secret audit-signing-key version 3f2a9c does not exist or is disabled: restore or re-enable it, or pin a version that is there (SECRET_VERSIONS) (infra/README.md, "Rotating keys")\n',
    );
    expect(failureLine('curate', new RestError(BLOB_MESSAGE, { statusCode: 409, code: 'LeaseAlreadyPresent' }))).toBe(
      'curate: failed (RestError:LeaseAlreadyPresent)\n',
    );
  });

  // import and seed print their own errors' messages as they are; a refusal is not theirs, and its
  // message was printed whole: the request id, the time and whatever resource it quoted.
  it.each([['import'], ['seed']])('npm run %s --remote answers a refusal as the other scripts do', async (script) => {
    const err = new RestError(BLOB_MESSAGE, { statusCode: 403, code: 'AuthorizationPermissionMismatch' });
    const line = ownErrorLine(script, err);
    expect(line).toBe(failureLine(script, err));
    expect(leaked(line)).toEqual([]);
  });

  // A 401 is the token not accepted (issued for another tenant, or expired), not a role missing:
  // the advice to grant one sent the operator to the portal for a role they already held.
  it.each([['InvalidAuthenticationInfo'], [undefined]])(
    'answers a blob storage 401 %s as the token not accepted, advising no role',
    async (code) => {
      const err = new RestError(
        'Server failed to authenticate the request.\nRequestId:0f3c https://stlintelprod.blob.core.windows.net/curated/export.lock',
        {
          statusCode: 401,
          ...(code === undefined ? {} : { code }),
        },
      );
      const line = failureLine('curate', err);
      expect(line).toBe(
        `curate: blob storage did not accept this identity's token (${['401', code].filter(Boolean).join(' ')}): it is for another tenant, or has expired: sign in again (\`az login --tenant <tenant id>\`) ${'(infra/README.md, "Operator access")'}\n`,
      );
      expect(line).not.toMatch(/role/i);
      expect(leaked(line)).toEqual([]);
    },
  );

  // Azurite is shared-key only: a 401 or 403 there is the account key or the connection string,
  // and roles do not exist there. A local run under a mistyped key was told to grant itself the
  // Storage Blob Data Contributor role.
  const wrongKey = () =>
    inject('azuriteConnectionString').replace(
      /AccountKey=[^;]+/,
      `AccountKey=${Buffer.alloc(64, 7).toString('base64')}`,
    );
  it.each([
    ['scripts/curate.ts', []],
    ['scripts/audit.ts', ['verify']],
  ])(
    '%s against Azurite under another account key names the key, not a role (exit 1)',
    async (script, args) => {
      const result = await run(script, args, { ...isolated(), LINTEL_ENV: 'test', AzureWebJobsStorage: wrongKey() });
      const name = script.slice('scripts/'.length, -'.ts'.length);
      expect({ status: result.status, stderr: result.stderr }).toEqual({
        status: 1,
        stderr: `${name}: Azurite refused the request (403 AuthorizationFailure): the account key or connection string in AzureWebJobsStorage is wrong (UseDevelopmentStorage=true is Azurite's own); roles play no part locally\n`,
      });
    },
    60_000,
  );

  it('gives infra/README.md the section the line points to', async () => {
    expect(readFileSync(join(ROOT, 'infra/README.md'), 'utf8')).toMatch(/^#+ Operator access$/m);
  });
});

// On a machine signed in to no Azure account (no `az login`, no service principal in the
// environment, no managed identity), DefaultAzureCredential finds nothing, and every operator
// script against Azure answered `failed (AggregateAuthenticationError)` (or, by another path,
// `failed (CredentialUnavailableError)`): which says neither what is missing nor how to supply it.
describe.concurrent('a machine signed in to no Azure account', () => {
  const NO_CREDENTIAL =
    'no Azure credential found: sign in with `az login` (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or run with a managed identity)';
  // Only the environment's service principal is tried, and there is none: no Azure CLI, VS Code or
  // managed identity of the machine running the tests is asked.
  const signedOut = () => ({
    ...isolated(),
    LINTEL_ENV: 'test',
    AZURE_TOKEN_CREDENTIALS: 'EnvironmentCredential',
    AzureWebJobsStorage: '',
    AzureWebJobsStorage__blobServiceUri: 'https://stlintelnothere.blob.core.windows.net',
  });

  it.each([
    ['scripts/relink.ts', []],
    ['scripts/curate.ts', []],
    ['scripts/audit.ts', ['verify']],
    ['scripts/purge-dataset.ts', ['--dataset', 'no-such-dataset']],
  ])(
    '%s says to sign in, in one line (exit 1)',
    async (script, args) => {
      const result = await run(script, args, signedOut());
      expect({ status: result.status, stderr: result.stderr }).toEqual({
        status: 1,
        stderr: `${script.slice('scripts/'.length, -'.ts'.length)}: ${NO_CREDENTIAL}\n`,
      });
    },
    60_000,
  );

  /** The error a credential chain throws when none of its credentials is available. */
  async function chainFinding(...messages: string[]): Promise<unknown> {
    const chain = new ChainedTokenCredential(
      ...messages.map((m) => ({
        getToken: () => Promise.reject(new CredentialUnavailableError(m)),
      })),
    );
    return chain.getToken('https://storage.azure.com/.default').then(
      () => undefined,
      (err: unknown) => err,
    );
  }

  it('answers the chain finding nothing, a credential unavailable on its own, and either under the store', async () => {
    const chain = await chainFinding('EnvironmentCredential is unavailable.', "Please run 'az login'.");
    expect(chain).toBeInstanceOf(AggregateAuthenticationError);
    expect(failureLine('curate', chain)).toBe(`curate: ${NO_CREDENTIAL}\n`);
    expect(failureLine('relink', new CredentialUnavailableError('Failed to retrieve a valid token'))).toBe(
      `relink: ${NO_CREDENTIAL}\n`,
    );
    // tedious (Azure SQL) throws an AggregateError of its own login failure and the credential's.
    const sql = new AggregateError([
      Object.assign(new Error('Security token could not be authenticated'), { code: 'EFEDAUTH' }),
      chain,
    ]);
    expect(failureLine('relink', sql)).toBe(`relink: ${NO_CREDENTIAL}\n`);
  });

  // import and seed print their own errors' messages whole; the chain's lists every credential tried.
  it.each([['import'], ['seed']])('npm run %s --remote answers it as the other scripts do', async (script) => {
    const chain = await chainFinding('EnvironmentCredential is unavailable.');
    expect(ownErrorLine(script, chain)).toBe(`${script}: ${NO_CREDENTIAL}\n`);
  });
});
