import { BlobServiceClient } from '@azure/storage-blob';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import SqliteDatabase from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azuriteConnectionString } from '../../local/azurite.js';
import { freePort } from '../../local/free-port.js';
import { loadAgreements } from '../../shared/agreements/load.js';
import { developmentIssuer, type DevelopmentIssuer } from '../../shared/auth/development-issuer.js';
import { MAX_JSON_BODY_BYTES } from '../../shared/api/json-body-limit.js';
import { seedExtracts, type SeededExtract } from '../../shared/synthetic/extracts/demo-seed.js';
import { DEMO_CLIENT_IDS, clientIdOf } from '../support/test-host.js';
import { minimalEnv } from '../support/child-env.js';

/**
 * Issue 6 and the project's standard, over a whole session: ids, counts, codes and hashes go
 * into log lines, errors and reports, never a name, a date of birth or an identifier. The other
 * tests look at one path each (import reports, error bodies, retention's lines); this one runs
 * `npm start`'s own entry point as a child process, with its own Azurite and SQLite store in a
 * folder of its own and LOG_LEVEL=debug, imports seeded extracts through the blob watcher (so
 * linking and the retention pass after each load run too), drives the API over real HTTP the
 * way partners and DPOs do — good, bad and refused — and then reads everything the host wrote:
 * its stdout and stderr, and the reports and progress notes it left in blob storage. None of
 * the personal values the session used, neither those of the extracts nor those sent, may be
 * there in any written form.
 */

/** The `npm start` entry point run from source (through tsx, as test/local/startup.test.ts does). */
const HOST_FROM_SOURCE = [
  process.execPath,
  '--import',
  import.meta.resolve('tsx'),
  join(import.meta.dirname, '../../local/host.ts'),
];
const AGREEMENTS_DIR = join(import.meta.dirname, '../../agreements');
const AUDIENCE = 'api://lintel';

/**
 * The extract columns that hold a person's data. Flags, percentages, counts, gender, teams and
 * schools are left out: their values are a short vocabulary that log lines may spell by chance.
 */
const PERSONAL_COLUMNS = new Set([
  'firstName',
  'lastName',
  'name',
  'dateOfBirth',
  'address',
  'homeAddress',
  'homePostcode',
  'nationalInsuranceNumber',
  'nhsNumber',
  'uniquePupilNumber',
  'socialCareSystemId',
  'educationSystemId',
  'telephoneNumber',
  'email',
  'caseReference',
  'assignedCaseworkers',
]);

type Row = Record<string, string>;

function readExtract(path: string): Row[] {
  return parse(readFileSync(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Row[];
}

/** Every form a date of birth is written in that the product reads or could write back. */
function dateForms(value: string): string[] {
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const dayFirst = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(value);
  const [y, m, d] = iso ? [iso[1]!, iso[2]!, iso[3]!] : dayFirst ? [dayFirst[3]!, dayFirst[2]!, dayFirst[1]!] : [];
  if (!y) return [value];
  return [
    `${y}-${m}-${d}`,
    `${d}/${m}/${y}`,
    `${m}/${d}/${y}`,
    `${d}-${m}-${y}`,
    `${d}.${m}.${y}`,
    `${y}/${m}/${d}`,
    `${y}${m}${d}`,
    `${d}${m}${y}`,
  ];
}

/** A value in the forms it may be written in: as given, without its spaces, and with them put back. */
function valueForms(column: string, value: string): string[] {
  if (/date/i.test(column)) return dateForms(value);
  const bare = value.replace(/\s+/g, '');
  const forms = [value, bare];
  if (/postcode/i.test(column) && bare.length > 3) forms.push(`${bare.slice(0, -3)} ${bare.slice(-3)}`);
  if (/nhs/i.test(column) && bare.length === 10) forms.push(`${bare.slice(0, 3)} ${bare.slice(3, 6)} ${bare.slice(6)}`);
  if (/nationalInsurance|niNumber/i.test(column) && bare.length === 9)
    forms.push(`${bare.slice(0, 2)} ${bare.slice(2, 4)} ${bare.slice(4, 6)} ${bare.slice(6, 8)} ${bare.slice(8)}`);
  return forms;
}

/**
 * The personal values to look for, each with where it came from (a column name, never the
 * value, so a failure message does not itself carry it). Values shorter than five characters
 * are left out — a two-letter name would be found inside any word — and names and other words
 * are matched case-insensitively as whole words, so `Grove` is not found in `groves`.
 */
class PersonalValues {
  private readonly exact = new Map<string, string>();
  private readonly words = new Map<string, string>();

  add(column: string, raw: string | undefined): void {
    const value = raw?.trim();
    if (!value) return;
    if (/name|address|caseworker/i.test(column) && !/^\S+@\S+$/.test(value)) {
      for (const part of [value, ...value.split(/[\s,'-]+/)]) {
        const word = part.trim().replace(/^[.]+|[.]+$/g, '');
        if (word.length >= 5 && !/^\d+$/.test(word)) this.words.set(word.toLowerCase(), column);
      }
      return;
    }
    for (const form of valueForms(column, value)) if (form.length >= 5) this.exact.set(form.toLowerCase(), column);
  }

  /** The columns of the values found in `text`, with a little of where they were found (not the value). */
  foundIn(text: string, where: string): string[] {
    const lower = text.toLowerCase();
    const found: string[] = [];
    for (const [value, column] of this.exact) {
      const at = lower.indexOf(value);
      if (at >= 0) found.push(`${where}: a ${column} value, at …${eventAround(text, at)}`);
    }
    for (const [word, column] of this.words) {
      const pattern = new RegExp(`(?<![\\p{L}\\p{N}])${escape(word)}(?![\\p{L}\\p{N}])`, 'u');
      const match = pattern.exec(lower);
      if (match) found.push(`${where}: a ${column} word, at …${eventAround(text, match.index)}`);
    }
    return found;
  }

  get size(): number {
    return this.exact.size + this.words.size;
  }
}

/** Hashes and keys stored as bytes, written as hex so the scan reads them as the logs would. */
function stringifyBuffers(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('hex') : value;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The log event around a hit (its `"event":"…"` name), so a failure says which line without quoting it. */
function eventAround(text: string, at: number): string {
  const lineStart = text.lastIndexOf('\n', at) + 1;
  const line = text.slice(lineStart, text.indexOf('\n', at) === -1 ? undefined : text.indexOf('\n', at));
  const event = /"event":"([^"]+)"/.exec(line)?.[1];
  return event ? `event ${event}` : `offset ${at - lineStart} of a line of ${line.length} characters`;
}

describe('a whole session on the local host', () => {
  let cwd: string;
  let host: ChildProcessByStdio<null, Readable, Readable>;
  let exited: Promise<number | null>;
  let output = '';
  let url: string;
  let blobs: BlobServiceClient;
  let issuer: DevelopmentIssuer;
  let seeded: SeededExtract[];
  const personal = new PersonalValues();
  /** What the session's calls answered: status per step, so a failed step is seen, not hidden. */
  const answers: Record<string, number> = {};

  const token = (party: string, roles: string[], options: { expiresInSeconds?: number; audience?: string } = {}) =>
    issuer.mint({
      clientId: clientIdOf(party),
      roles,
      audience: options.audience ?? AUDIENCE,
      ...(options.expiresInSeconds === undefined ? {} : { expiresInSeconds: options.expiresInSeconds }),
    });

  /** One call over HTTP, its status noted under `step`. The values it sends must already be among those looked for. */
  async function call(
    step: string,
    path: string,
    init: {
      party?: string;
      roles?: string[];
      purpose?: string;
      method?: string;
      body?: unknown;
      rawBody?: string;
      contentType?: string;
      authorization?: string;
    } = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = { 'content-type': init.contentType ?? 'application/json' };
    if (init.authorization !== undefined) headers.authorization = init.authorization;
    else if (init.party) headers.authorization = `Bearer ${await token(init.party, init.roles ?? [])}`;
    if (init.purpose) headers['x-purpose'] = init.purpose;
    const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
    const res = await fetch(`${url}/api${path}`, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.text();
    answers[step] = res.status;
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      // Every answer of the API is JSON; an answer that is not is left to the status checks.
    }
    return { status: res.status, body: parsed };
  }

  /** How many times the host logged `event` so far. */
  const logged = (event: string) => output.split('\n').filter((line) => line.includes(`"event":"${event}"`)).length;

  async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 40_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const blobsHandled = () => logged('localhost.blob.handled') + logged('localhost.blob.handler-failed');

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'lintel-session-'));
    // Run from source, the store's worker threads import tsx by name from the working folder.
    symlinkSync(join(import.meta.dirname, '../../node_modules'), join(cwd, 'node_modules'));
    const [blobPort, hostPort] = [await freePort(), await freePort()];
    url = `http://127.0.0.1:${hostPort}`;
    host = spawn(HOST_FROM_SOURCE[0]!, HOST_FROM_SOURCE.slice(1), {
      cwd,
      env: minimalEnv({
        AzureWebJobsStorage: 'UseDevelopmentStorage=true',
        AZURITE_BLOB_PORT: String(blobPort),
        LINTEL_HOST_PORT: String(hostPort),
        LINTEL_ENV: 'development',
        LINTEL_DEMO_SEED: 'off',
        AGREEMENTS_DIR,
        LOG_LEVEL: 'debug',
        AUTH_ISSUER: `${url}/dev-issuer`,
        AUTH_JWKS_URI: `${url}/dev-issuer/jwks.json`,
        PARTY_CLIENT_IDS: JSON.stringify(DEMO_CLIENT_IDS),
        RATE_LIMIT_UNAUTHENTICATED_PER_MINUTE: '100000',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Read as UTF-8 streams, so a character split across chunks is not garbled out of the scan.
    host.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    host.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    exited = new Promise((resolveExit) => host.once('exit', (code) => resolveExit(code)));
    await until('the host to listen', () => {
      if (host.exitCode !== null) throw new Error(`the host exited during start-up (${host.exitCode})`);
      return output.includes('listening on');
    });
    issuer = await developmentIssuer(join(cwd, '.lintel/dev-issuer-key.json'), `${url}/dev-issuer`);
    blobs = BlobServiceClient.fromConnectionString(azuriteConnectionString(blobPort));

    // Small extracts of every source of every dataset, uploaded as partners upload them. Dated:
    // an extract's values are drawn by its file name, which holds its date, and the searches
    // below need the people of one fixed draw (undated, the draw changed at every midnight).
    seeded = await seedExtracts({
      agreements: loadAgreements(AGREEMENTS_DIR),
      blobs,
      outDir: join(cwd, 'seed'),
      size: 40,
      share: 0.5,
      seed: 'no-personal-data-in-logs',
      asOf: '2026-12-05',
    });
    for (const extract of seeded)
      for (const row of readExtract(extract.path))
        for (const [column, value] of Object.entries(row))
          if (PERSONAL_COLUMNS.has(column)) personal.add(column, value);
    await until('the seeded extracts to be imported', () => blobsHandled() >= seeded.length, 60_000);
  }, 120_000);

  afterAll(async () => {
    if (host && host.exitCode === null) {
      host.kill('SIGINT');
      await exited;
    }
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  const rowsOf = (party: string, dataset: string) =>
    readExtract(seeded.find((e) => e.blobName.startsWith(`${party}/${dataset}/`))!.path);

  it('writes no personal value to any log line, error or report', async () => {
    expect(personal.size).toBeGreaterThan(100);
    // Searched for: Housing's clients in temporary accommodation, whom the ISA's joint system
    // keeps. Retention, applied after each import, deletes the others; a search for one of them
    // is rightly answered no-match (the first client with an NHS number had been one on some days).
    const housing = rowsOf('la-housing', 'multiple-disadvantage-indicators').filter(
      (r) => r.inTemporaryAccommodation === 'Y',
    );
    const withNhs = housing.filter((r) => r.nhsNumber);
    const withNi = housing.filter((r) => r.nationalInsuranceNumber);
    const withPostcode = housing.filter((r) => r.homePostcode);
    expect(withNhs.length).toBeGreaterThan(1);
    const officer = { party: 'la-housing', roles: ['housing-officer'], purpose: 'homelessness-prevention' };

    // Values of nobody in the extracts, sent as partners might; added to those looked for.
    const nobody = {
      givenName: 'Quillanora',
      familyName: 'Featherstonehaugh',
      dateOfBirth: '1971-08-29',
      nhsNumber: '9434765870',
      niNumber: 'JT559214B',
      postcode: 'NN16 8QZ',
      upn: 'H801200001001',
    };
    personal.add('givenName', nobody.givenName);
    personal.add('familyName', nobody.familyName);
    personal.add('dateOfBirth', nobody.dateOfBirth);
    personal.add('nhsNumber', nobody.nhsNumber);
    personal.add('nationalInsuranceNumber', nobody.niNumber);
    personal.add('homePostcode', nobody.postcode);
    personal.add('uniquePupilNumber', nobody.upn);

    // Searches that match, by each identifier and by names, date of birth and postcode.
    const byNhs = await call('search.nhs', '/v1/people/search', {
      ...officer,
      body: { nhsNumber: withNhs[0]!.nhsNumber },
    });
    const spacedNhs = withNhs[0]!.nhsNumber!.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3');
    await call('search.nhs-spaced', '/v1/people/search', { ...officer, body: { nhsNumber: spacedNhs } });
    if (withNi[0])
      await call('search.ni', '/v1/people/search', {
        ...officer,
        body: { niNumber: withNi[0].nationalInsuranceNumber },
      });
    const someone = withPostcode[0] ?? housing[0]!;
    await call('search.names', '/v1/people/search', {
      ...officer,
      body: {
        givenName: someone.firstName!.toLowerCase(),
        familyName: someone.lastName!.toUpperCase(),
        dateOfBirth: someone.dateOfBirth,
        ...(someone.homePostcode ? { postcode: someone.homePostcode.replace(/\s+/g, '').toLowerCase() } : {}),
      },
    });
    // Searches that match nobody, and that conflict: one person's NHS number with another's date of birth.
    await call('search.nobody', '/v1/people/search', { ...officer, body: nobody });
    await call('search.nobody-names', '/v1/people/search', {
      ...officer,
      body: { givenName: nobody.givenName, familyName: nobody.familyName, dateOfBirth: nobody.dateOfBirth },
    });
    const other = housing.find((r) => r.dateOfBirth !== withNhs[0]!.dateOfBirth)!;
    await call('search.conflict', '/v1/people/search', {
      ...officer,
      body: { nhsNumber: withNhs[0]!.nhsNumber, dateOfBirth: other.dateOfBirth, familyName: other.lastName },
    });
    await call('search.pseudo-postcode', '/v1/people/search', { ...officer, body: { postcode: 'ZZ99 3VZ' } });
    await call('search.bad-nhs', '/v1/people/search', { ...officer, body: { nhsNumber: '9434765871' } });
    await call('search.bad-date', '/v1/people/search', {
      ...officer,
      body: { givenName: nobody.givenName, familyName: nobody.familyName, dateOfBirth: '31/02/1971' },
    });
    // A caller the agreements do not let search, and one with no purpose.
    await call('search.refused', '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'homelessness-prevention',
      body: { nhsNumber: withNhs[0]!.nhsNumber },
    });
    await call('search.no-purpose', '/v1/people/search', {
      party: 'la-housing',
      roles: ['housing-officer'],
      body: { nhsNumber: withNhs[0]!.nhsNumber },
    });

    // The person view, by the reference the search gave, and by references that find nobody.
    if (typeof byNhs.body.personRef === 'string')
      await call('view', `/v1/people/${byNhs.body.personRef}`, { ...officer });
    await call('view.unknown', '/v1/people/not-a-ref', { ...officer });

    // Duplicate checks across the Keyways councils.
    const keyways = rowsOf('kettering-borough-council', 'keyways-housing-register');
    const applicant = keyways.find((r) => r.nationalInsuranceNumber) ?? keyways[0]!;
    const council = { party: 'corby-borough-council', roles: ['housing-officer'], purpose: 'fraud-prevention' };
    await call('duplicate.ni', '/v1/duplicate-checks', {
      ...council,
      body: applicant.nationalInsuranceNumber ? { niNumber: applicant.nationalInsuranceNumber } : {},
    });
    await call('duplicate.names', '/v1/duplicate-checks', {
      ...council,
      body: { givenName: applicant.firstName, familyName: applicant.lastName, dateOfBirth: applicant.dateOfBirth },
    });
    await call('duplicate.nobody', '/v1/duplicate-checks', {
      ...council,
      body: { givenName: nobody.givenName, familyName: nobody.familyName, dateOfBirth: nobody.dateOfBirth },
    });

    // A research consent recorded and withdrawn by Dudley, by case reference and by name.
    const participants = rowsOf('dudley-housing-options', 'housing-first-participant-contacts');
    const dudley = { party: 'dudley-housing-options', roles: ['housing-officer'], purpose: 'research-evaluation' };
    const consent = await call('consent.record', '/v1/consents', {
      ...dudley,
      body: {
        subject: { systemId: { system: 'case-reference', id: participants[0]!.caseReference } },
        evidenceRef: 'HF/CONSENT/1',
      },
    });
    if (typeof consent.body.consentId === 'string')
      await call('consent.withdraw', `/v1/consents/${consent.body.consentId}`, { ...dudley, method: 'DELETE' });
    await call('consent.nobody', '/v1/consents', {
      ...dudley,
      body: { subject: { givenName: nobody.givenName, familyName: nobody.familyName }, evidenceRef: 'HF/CONSENT/2' },
    });
    await call('research.search', '/v1/people/search', {
      party: 'icf-research',
      roles: ['researcher'],
      purpose: 'research-evaluation',
      body: { systemId: { system: 'case-reference', id: participants[1]!.caseReference } },
    });

    // Link review: list, show, confirm one candidate and reject another, if the linking left any.
    const reviewer = { party: 'la-housing', roles: ['reviewer'], purpose: 'homelessness-prevention' };
    const listed = await call('review.list', '/v1/link-candidates', { ...reviewer });
    const candidates = (listed.body.candidates as { candidateId: string }[] | undefined) ?? [];
    if (candidates[0]) {
      await call('review.show', `/v1/link-candidates/${candidates[0].candidateId}`, { ...reviewer });
      await call('review.confirm', `/v1/link-candidates/${candidates[0].candidateId}/confirm`, {
        ...reviewer,
        method: 'POST',
      });
    }
    if (candidates[1])
      await call('review.reject', `/v1/link-candidates/${candidates[1].candidateId}/reject`, {
        ...reviewer,
        method: 'POST',
      });

    // A DPO's subject access request, by identifiers and by names, and for nobody.
    const sar = { party: 'la-housing', roles: ['dpo'] };
    await call('sar.nhs', '/v1/audit/people/accesses', { ...sar, body: { nhsNumber: withNhs[0]!.nhsNumber } });
    await call('sar.names', '/v1/audit/people/accesses', {
      ...sar,
      body: { givenName: someone.firstName, familyName: someone.lastName, dateOfBirth: someone.dateOfBirth },
    });
    await call('sar.nobody', '/v1/audit/people/accesses', { ...sar, body: { niNumber: nobody.niNumber } });

    // A national data opt-out recorded by a DPO (after the lookups above: the person is
    // then left out of them), and one for nobody.
    const dpo = { party: 'la-housing', roles: ['dpo'], purpose: 'service-planning' };
    await call('opt-out.record', '/v1/consents', {
      ...dpo,
      body: { kind: 'opt-out', subject: { nhsNumber: withNhs[0]!.nhsNumber }, evidenceRef: 'DPO/OPTOUT/1' },
    });
    await call('opt-out.nobody', '/v1/consents', {
      ...dpo,
      body: { kind: 'opt-out', subject: { nhsNumber: nobody.nhsNumber }, evidenceRef: 'DPO/OPTOUT/2' },
    });

    // Bodies the API refuses, each carrying personal values.
    const named = `"givenName":"${nobody.givenName}","familyName":"${nobody.familyName}"`;
    await call('bad.duplicate-names', '/v1/people/search', {
      ...officer,
      rawBody: `{${named},"familyName":"${someone.lastName}","dateOfBirth":"${nobody.dateOfBirth}"}`,
    });
    await call('bad.media-type', '/v1/people/search', {
      ...officer,
      contentType: 'text/plain',
      rawBody: `{${named},"dateOfBirth":"${nobody.dateOfBirth}"}`,
    });
    await call('bad.json', '/v1/people/search', { ...officer, rawBody: `{${named},"nhsNumber":${nobody.nhsNumber}` });
    await call('bad.unknown-property', '/v1/people/search', {
      ...officer,
      body: { firstName: nobody.givenName, surname: nobody.familyName, nino: nobody.niNumber },
    });
    await call('bad.too-long', '/v1/people/search', {
      ...officer,
      body: { niNumber: `${nobody.niNumber}${'9'.repeat(30)}`, familyName: nobody.familyName.repeat(10) },
    });
    await call('bad.oversize', '/v1/people/search', {
      ...officer,
      rawBody: `{${named},"padding":"${'x'.repeat(MAX_JSON_BODY_BYTES)}"}`,
    });
    await call('bad.system-id', '/v1/people/search', {
      ...officer,
      body: { systemId: { system: nobody.familyName, id: nobody.upn } },
    });

    // Token failures, each with a personal body.
    const body = { nhsNumber: withNhs[0]!.nhsNumber, givenName: nobody.givenName };
    await call('token.none', '/v1/people/search', { purpose: officer.purpose, body });
    await call('token.garbage', '/v1/people/search', {
      purpose: officer.purpose,
      authorization: `Bearer ${nobody.familyName}.${nobody.nhsNumber}.x`,
      body,
    });
    await call('token.expired', '/v1/people/search', {
      purpose: officer.purpose,
      authorization: `Bearer ${await token('la-housing', ['housing-officer'], { expiresInSeconds: -120 })}`,
      body,
    });
    await call('token.audience', '/v1/people/search', {
      purpose: officer.purpose,
      authorization: `Bearer ${await token('la-housing', ['housing-officer'], { audience: 'api://elsewhere' })}`,
      body,
    });

    // An extract with bad rows (refused as a whole) and one with a bad header, imported as partners upload them.
    const header = Object.keys(housing[0]!);
    const badRow = (given: string, family: string, dob: string, nhs: string) =>
      header
        .map((column) =>
          column === 'firstName'
            ? given
            : column === 'lastName'
              ? family
              : column === 'dateOfBirth'
                ? dob
                : column === 'nhsNumber'
                  ? nhs
                  : column === 'homePostcode'
                    ? 'NN16 8QZ'
                    : '',
        )
        .join(',');
    const bad = [
      header.join(','),
      badRow('Thaddeusina', 'Marchbankson', '31/02/1964', '9434765871'),
      badRow('Philomenah', 'Ravenscroftley', '1964-13-01', '12345'),
      badRow('Octaviusz', 'Wetherbyhall', 'yesterday', 'NOT-AN-NHS'),
      badRow(nobody.givenName, nobody.familyName, nobody.dateOfBirth, '9434765870'),
    ];
    for (const [column, value] of [
      ['firstName', 'Thaddeusina'],
      ['lastName', 'Marchbankson'],
      ['firstName', 'Philomenah'],
      ['lastName', 'Ravenscroftley'],
      ['firstName', 'Octaviusz'],
      ['lastName', 'Wetherbyhall'],
      ['dateOfBirth', '1964-02-31'],
    ] as const)
      personal.add(column, value);
    const badHeader = [
      `${header.join(',')},${nobody.familyName}`,
      `${badRow('Thaddeusina', 'Marchbankson', '1964-01-31', '')},x`,
    ];
    const before = blobsHandled();
    for (const [name, lines] of [
      ['la-housing/multiple-disadvantage-indicators/bad-rows.csv', bad],
      ['la-housing/multiple-disadvantage-indicators/bad-header.csv', badHeader],
    ] as const) {
      const content = Buffer.from(lines.join('\n'), 'utf8');
      await blobs.getContainerClient('incoming').getBlockBlobClient(name).upload(content, content.length);
    }
    await until('the bad extracts to be handled', () => blobsHandled() >= before + 2);

    // Every step answered; none fell over.
    expect(
      Object.values(answers).every((status) => status < 500),
      JSON.stringify(answers),
    ).toBe(true);
    expect(answers['search.nhs']).toBe(200);
    expect(answers['search.names']).toBe(200);
    expect(answers['duplicate.names']).toBe(200);
    expect(answers['sar.nhs']).toBe(200);
    expect(answers['consent.record']).toBe(201);
    expect(answers['opt-out.record']).toBe(201);

    // Everything the host wrote to blob storage but the extracts, read while its Azurite runs.
    const reports: [string, string][] = [];
    for await (const container of blobs.listContainers()) {
      const client = blobs.getContainerClient(container.name);
      for await (const item of client.listBlobsFlat()) {
        // The extracts themselves are the personal data, wherever the product keeps them.
        if (/\.(csv|xlsx)$/i.test(item.name)) continue;
        const text = (await client.getBlobClient(item.name).downloadToBuffer()).toString('utf8');
        reports.push([`${container.name}/${item.name}`, text]);
      }
    }
    expect(
      reports.some(([name]) => name.startsWith('rejected/')),
      'the bad extracts left reports',
    ).toBe(true);
    // Then the host is stopped, so its last lines are written too.
    host.kill('SIGINT');
    expect(await exited).toBe(0);

    // The store's own logs: the access log (a file of its own), the runs of imports, linking and
    // retention, the DPO's alerts and breaches. Their rows are read as text, column by column.
    const tables: [string, string][] = [];
    for (const [file, names] of [
      [join(cwd, '.lintel/lintel.access-log.db'), ['access_log']],
      [join(cwd, '.lintel/lintel.db'), ['import_run', 'link_run', 'retention_run', 'audit_alert', 'breach_record']],
    ] as const) {
      const db = new SqliteDatabase(file, { readonly: true, fileMustExist: true });
      try {
        for (const name of names) {
          const rows = db.prepare(`select * from ${name}`).all() as Record<string, unknown>[];
          if (name === 'access_log') expect(rows.length, 'the session left access-log entries').toBeGreaterThan(20);
          tables.push([`table ${name}`, rows.map((row) => JSON.stringify(row, stringifyBuffers)).join('\n')]);
        }
      } finally {
        db.close();
      }
    }

    const leaks = [
      ...personal.foundIn(output, 'host output'),
      ...tables.flatMap(([name, text]) => personal.foundIn(text, name)),
      ...reports.flatMap(([name, text]) => personal.foundIn(text, name)),
    ];
    expect(leaks).toEqual([]);
    // The session was logged at all: the scan read something.
    expect(logged('import.loaded')).toBeGreaterThan(0);
    expect(logged('import.rejected')).toBeGreaterThan(0);
  }, 120_000);
});
