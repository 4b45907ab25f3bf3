/**
 * README.md is the operator's first and often only reference: the project keeps it true (what
 * lintel is, the two commands, settings, architecture, deploying, adding an agreement). Prose is
 * reviewed by reading; these checks pin the parts that go stale mechanically when the code moves
 * under them:
 *
 * - the settings table names every setting shared/config.ts parses, with its default and, for a
 *   setting with a fixed set of values, each value — and no setting the schema no longer reads;
 *   local.settings.example.json sets settings alone, but for the one value the README says is
 *   Core Tools'; and the table of variables read beside the schema names every one the product reads;
 * - the endpoint table lists every HTTP function registered (functions/), with its method, and
 *   nothing that is not served;
 * - every `npm run <script>` the READMEs name is a script in package.json, and every option they
 *   give it is one its file under scripts/ parses;
 * - every relative link (with its anchor) and every repository path in backticks exists;
 * - every status written with a code ("409 `…`") is a problem type of the catalogue with that status;
 * - the migrations the SQL Server statement test compiles are given up to the newest.
 *
 * infra/ has its own checks (test/infra/infra.test.ts: app settings against the schema, azd env
 * values against the parameters), shared/imports/README.md its own
 * (test/shared/imports/imports-readme.test.ts).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registrations } from '../functions/index.js';
import type { HttpRegistration } from '../functions/registry.js';
import { HTTP_SERVER_PROBLEMS } from '../shared/api/operations.js';
import { PROBLEM_CATALOGUE } from '../shared/api/problem-catalogue.js';
import { ConfigurationError, DEVELOPMENT_AUTH, loadConfig, settingNames } from '../shared/config.js';

const ROOT = join(import.meta.dirname, '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const README = read('README.md');
const READMES = ['README.md', 'agreements/README.md', 'shared/imports/README.md', 'infra/README.md'];

/** The table's rows (header and rule left out), each split into its cells. */
function tableAfter(text: string, header: string): string[][] {
  const start = text.indexOf(header);
  expect(start, `a table headed ${header}`).toBeGreaterThanOrEqual(0);
  const lines = text.slice(start).split('\n');
  const end = lines.findIndex((line) => !line.startsWith('|'));
  return lines
    .slice(2, end)
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    )
    .filter((cells) => cells.length > 1);
}

const backticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] ?? '');

describe('README.md', () => {
  describe('the settings table', () => {
    const rows = tableAfter(README.slice(README.indexOf('## Settings')), '| setting | default | meaning |');
    const rowOf = new Map(rows.flatMap((row) => backticked(row[0] ?? '').map((name) => [name, row] as const)));
    // The one setting needed without a default: given here, so every other comes out as defaulted.
    const minimal = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
    const defaults: Record<string, unknown> = loadConfig(minimal);

    it('names every setting the schema parses, and none it does not', () => {
      expect([...rowOf.keys()].sort()).toEqual([...settingNames].sort());
    });

    it.each(settingNames.map((name) => [name]))('gives %s its default', (name) => {
      const cell = rowOf.get(name)?.[1] ?? '';
      const value = defaults[name];
      if (name in minimal || value === undefined) {
        expect(cell).toBe('—');
      } else if (name === 'AUTH_JWKS_URI' || name === 'AUTH_ISSUER' || name === 'AUTH_AUDIENCE') {
        // One row for the three: the development issuer, its key set and its audience.
        expect(DEVELOPMENT_AUTH.jwksUri).toBe(`${DEVELOPMENT_AUTH.issuer}/jwks.json`);
        expect(backticked(cell)).toEqual(expect.arrayContaining([DEVELOPMENT_AUTH.issuer, '/jwks.json']));
        expect(backticked(cell)).toContain(DEVELOPMENT_AUTH.audience);
      } else {
        const written = Array.isArray(value)
          ? value.join(',')
          : typeof value === 'object'
            ? JSON.stringify(value)
            : value;
        expect(cell).toBe(`\`${String(written)}\``);
      }
    });

    // A row with no default reads as optional: a setting the schema refuses to go without, in
    // every environment or in one the README names (for `mssql`, for `keyvault`, in production),
    // says it is required, or a newcomer leaves it out and nothing starts.
    it.each([[{}], [{ STORE_ENGINE: 'mssql' }], [{ SECRETS_SOURCE: 'keyvault' }], [{ LINTEL_ENV: 'production' }]])(
      'says a setting is required where the schema refuses to go without it, given %o',
      (given) => {
        let problems: readonly string[] = [];
        try {
          loadConfig(given);
        } catch (err) {
          if (!(err instanceof ConfigurationError)) throw err;
          problems = err.problems;
        }
        const required = problems.flatMap((p) => /^(\w+): is required\b/.exec(p)?.[1] ?? []);
        expect(required.length).toBeGreaterThan(0);
        for (const name of required) expect(rowOf.get(name)?.slice(1).join(' | '), name).toMatch(/\brequired\b/);
      },
    );

    // An operator writes the Key Vault's or the key set's address from the table: a production
    // refusal of plain http the row does not mention is met only at a failed start.
    const refusedHttpInProduction = (name: string): boolean => {
      let problems: readonly string[] = [];
      try {
        loadConfig({ ...minimal, LINTEL_ENV: 'production', [name]: 'http://example.org/x' });
      } catch (err) {
        if (!(err instanceof ConfigurationError)) throw err;
        problems = err.problems;
      }
      return problems.some((p) => p.startsWith(`${name}: must`) && p.includes('https'));
    };

    // The case below passes for a setting that takes http: were config's message worded otherwise,
    // it would pass for every setting and check none.
    it('finds the settings known to be refused plain http in production', () => {
      expect(settingNames.filter(refusedHttpInProduction)).toEqual(
        expect.arrayContaining(['KEY_VAULT_URI', 'AUTH_JWKS_URI', 'AUTH_ISSUER']),
      );
    });

    it.each(settingNames.map((name) => [name]))('says %s must be https in production, where it must', (name) => {
      if (refusedHttpInProduction(name)) expect(rowOf.get(name)?.slice(1).join(' | '), name).toMatch(/\bhttps\b/);
    });

    /** The values a setting may take, as config's refusal of another lists them; undefined if not fixed. */
    const allowedValuesOf = (name: string): string | undefined => {
      let problems: readonly string[] = [];
      try {
        loadConfig({ ...minimal, [name]: 'not-a-value-of-any-setting' });
      } catch (err) {
        if (!(err instanceof ConfigurationError)) throw err;
        problems = err.problems;
      }
      return problems
        .map((p) => new RegExp(`^${name}: must be one of (.+)$`).exec(p)?.[1])
        .find((list) => list !== undefined);
    };

    // The case below passes for a setting whose refusal lists no values: were config's message
    // worded otherwise, it would pass for every setting and check none.
    it('finds the fixed values of the settings known to have them', () => {
      const fixed = settingNames.filter((name) => allowedValuesOf(name) !== undefined);
      expect(fixed).toEqual(expect.arrayContaining(['LINTEL_ENV', 'STORE_ENGINE', 'SECRETS_SOURCE', 'LOG_LEVEL']));
    });

    it.each(settingNames.map((name) => [name]))('names each value %s may take, where they are fixed', (name) => {
      const allowed = allowedValuesOf(name);
      if (allowed === undefined) return;
      const said = backticked(rowOf.get(name)?.slice(1).join(' | ') ?? '');
      expect(said).toEqual(expect.arrayContaining(allowed.split(', ')));
    });
  });

  // The variables read beside the schema (a port, the demo seed) are the ones a newcomer reaches for
  // when a port is taken: one read by the product but missing from the table is found by reading code.
  it('lists every variable the product reads straight from the environment in the table of them', () => {
    const sources = ['local', 'scripts', 'shared', 'functions'].flatMap((folder) =>
      readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => read(join(folder, file))),
    );
    const readStraight = new Set(
      sources.flatMap((source) =>
        [...source.matchAll(/\benv(?:\.|\[')([A-Z][A-Za-z_]+)|localPort\([\w.]+, '([A-Z_]+)'\)/g)].map(
          (m) => m[1] ?? m[2] ?? '',
        ),
      ),
    );
    const unlisted = [...readStraight].filter((name) => !(settingNames as string[]).includes(name));
    const table = tableAfter(README, '| variable | default | read by | meaning |').flatMap((row) =>
      backticked(row[0] ?? ''),
    );
    expect(unlisted.length).toBeGreaterThan(0);
    expect(table).toEqual(expect.arrayContaining(unlisted));
  });

  it("says which of local.settings.example.json's values lintel does not read, and every other is a setting", () => {
    const example = JSON.parse(read('local.settings.example.json')) as { Values: Record<string, string> };
    const unread = Object.keys(example.Values).filter((name) => !(settingNames as string[]).includes(name));
    const settings = README.slice(README.indexOf('## Settings'), README.indexOf('| setting | default | meaning |'));
    for (const name of unread) expect(settings).toContain(`The example's \`${name}\``);
    expect(unread).toEqual(['FUNCTIONS_WORKER_RUNTIME']);
  });

  it('lists every HTTP function in the endpoint table with its methods, and nothing that is not served', () => {
    // Parameters first: a constraint may hold a `?` (`{personRef:regex(^(?!search$))}`), a query never a `{`.
    const normalise = (path: string): string => path.replace(/\{[^}]+\}/g, '{}').replace(/\?.*$/, '');
    const served = registrations()
      .filter((r): r is HttpRegistration => r.kind === 'http')
      // HEAD, where served, is its GET without the body: the prose under the table says where.
      .flatMap((r) =>
        r.methods.filter((m) => m !== 'HEAD').map((method) => `${method} ${normalise(`/api/${r.route}`)}`),
      );
    const listed: string[] = [];
    for (const [first = '', ...rest] of tableAfter(README, '| endpoint | what it does |')) {
      let method = '';
      let previous = '';
      for (const code of backticked(first)) {
        const full = /^([A-Z]+) (\/api\/\S+)$/.exec(code);
        // `POST /api/v1/link-candidates/{id}/confirm`, `/reject`: the same method, the last segment swapped.
        const path = full ? full[2]! : previous.replace(/\/[^/]+$/, code);
        method = full ? full[1]! : method;
        previous = path;
        listed.push(`${method} ${normalise(path)}`);
      }
      // `GET /api/docs` … "with its files under `/api/docs/{asset}`".
      for (const code of backticked(rest.join(' | ')).filter((c) => c.startsWith('/api/')))
        listed.push(`${method} ${normalise(code)}`);
    }
    expect([...new Set(listed)].sort()).toEqual([...new Set(served)].sort());
  });

  // An operator without a SQL Server reads this range to know which schema changes were at least
  // compiled for it; the test checks up to the newest migration, and the README said 0034 for 19 more.
  it('gives the migrations the SQL Server statement test compiles as that test does, up to the newest', () => {
    const [, first, last] = /migrations (\d{4})–(\d{4})\) through Kysely's SQL/.exec(README) ?? [];
    const newest = readdirSync(join(ROOT, 'shared/store/migrations'))
      .filter((name) => /^\d{4}-/.test(name))
      .sort()
      .at(-1)
      ?.slice(0, 4);
    expect(last).toBe(newest);
    expect(read('test/shared/store/sql-server-statements.test.ts')).toContain(`(${first}-${last})`);
  });

  it("names each of the local host's own answers where it says how they differ from Azure's", () => {
    const start = README.indexOf("**The host's own router answers what no function serves.**");
    expect(start).toBeGreaterThan(0);
    const paragraph = README.slice(start, README.indexOf('\n\n', start)).replace(/\s+/g, ' ');
    for (const code of ['not-found' as const, ...HTTP_SERVER_PROBLEMS])
      expect(paragraph, code).toContain(`${PROBLEM_CATALOGUE[code].status} \`${code}\``);
  });
});

describe('the READMEs', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;

  it.each(READMES.map((file) => [file]))(
    '%s: every npm run names a script, with options that script parses',
    (file) => {
      const problems: string[] = [];
      // A command runs to the end of its backticks or its line: `npm run import -- <file> --party <id> …`;
      // a script's name may hold a hyphen (`npm run purge-dataset`).
      for (const m of read(file).matchAll(/npm run(?: -s)? ([a-z][a-z:-]*)([^`\n|]*)/g)) {
        const [, name = '', rest = ''] = m;
        // `npm run bench:*` names the family.
        const family = name.endsWith(':') ? Object.keys(scripts).filter((s) => s.startsWith(name)) : [name];
        if (family.length === 0 || family.some((s) => scripts[s] === undefined)) {
          problems.push(`npm run ${name}: no such script`);
          continue;
        }
        const source = /tsx (scripts\/\S+\.ts)/.exec(scripts[name] ?? '')?.[1];
        const options = [...rest.replace(/\s#.*$/, '').matchAll(/(?<=\s|\[)--([a-z][a-z-]*)/g)].map((o) => o[1] ?? '');
        for (const option of options) {
          if (source === undefined || !new RegExp(`['"]?${option}['"]?: \\{ type:`).test(read(source)))
            problems.push(`npm run ${name} --${option}: not an option of ${source ?? 'the script'}`);
        }
      }
      expect(problems).toEqual([]);
    },
  );

  // A partner's client and a DPO's tooling branch on the `type`: a status written beside a code
  // ("409 `…`") that is no problem type, or comes with another status, sends them after an
  // answer lintel never gives (a breach step's `reason` written as if it were the type, found so).
  it.each(READMES.map((file) => [file]))(
    '%s: every status given with a code names a problem type of that status',
    (file) => {
      const wrong = [...read(file).matchAll(/\b([1-5]\d\d) `([a-z][a-z-]*)`/g)]
        .filter(([, status, code = '']) => {
          const problem = (PROBLEM_CATALOGUE as Record<string, { status: number } | undefined>)[code];
          return problem === undefined || String(problem.status) !== status;
        })
        .map(([said]) => said);
      expect(wrong).toEqual([]);
    },
  );

  // `npm run package` stages a folder with no local.settings.json (it must not ship), and that file
  // or the environment is where Core Tools reads the worker runtime from: published from the
  // folder without naming it, Core Tools stops with "Worker runtime is not set" and deploys nothing.
  it.each(READMES.map((file) => [file]))(
    '%s: every Core Tools publish of the staged package names the worker runtime',
    (file) => {
      const unnamed = [
        ...read(file).matchAll(/(?:FUNCTIONS_WORKER_RUNTIME=(\S+) )?func azure functionapp publish[^`\n]*/g),
      ]
        .filter(
          ([command, fromEnvironment]) =>
            fromEnvironment !== 'node' && !/ --(?:node|javascript|typescript)\b/.test(command),
        )
        .map(([command]) => command);
      expect(unnamed).toEqual([]);
    },
  );

  it.each(READMES.map((file) => [file]))('%s: every relative link and repository path exists', (file) => {
    const text = read(file);
    const missing: string[] = [];
    const anchors = (target: string): string[] =>
      read(target)
        .split('\n')
        .filter((line) => /^#+ /.test(line))
        .map((line) =>
          line
            .replace(/^#+ /, '')
            .trim()
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s-]/gu, '')
            .replace(/\s/g, '-'),
        );
    for (const [, link = ''] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(link)) continue;
      const [path = '', anchor] = link.split('#');
      const target = path === '' ? file : join(dirname(file), path);
      if (!existsSync(join(ROOT, target))) missing.push(link);
      else if (anchor !== undefined && !anchors(target).includes(anchor)) missing.push(link);
    }
    // Paths from the repository root, as the READMEs write them: `shared/store/dialect.ts`.
    for (const code of backticked(text)) {
      const path = /^(?:shared|local|scripts|functions|test|infra|agreements|examples|bench)\/[^\s*<{…]+$/.exec(
        code,
      )?.[0];
      if (path !== undefined && !existsSync(join(ROOT, path.replace(/[,.;:]$/, '')))) missing.push(path);
    }
    expect(missing).toEqual([]);
  });
});
