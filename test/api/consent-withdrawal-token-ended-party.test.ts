import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementsFolderWithout } from '../shared/agreements/agreement-files.js';
import { dudleyParticipantsConsenting, namedPeople } from '../support/records.js';
import {
  callApi,
  consentInForce,
  DEMO_CLIENT_IDS,
  restartTestHost,
  startTestHost,
  type TestHost,
} from '../support/test-host.js';
import { minimalEnv } from '../support/child-env.js';

const ROOT = join(import.meta.dirname, '../..');

/**
 * Dudley signs only the research agreement, which ends: its file is removed. Dudley still
 * withdraws the consents it recorded there (consent-withdrawal-agreement-removed.test.ts), and its
 * DPO still reads the agreement's log, but a developer or tester asking `npm run token` for a
 * Dudley token was told there is no such party: the script read the agreement files, not the
 * agreements the store remembers, so the withdrawal could not be tried on the local stack. The
 * token it mints now is the one the host takes: it withdraws a consent over HTTP. A role Dudley
 * never held, and a party no agreement ever named, are still refused.
 */
/** A script run starts tsx and the store: well over the default test timeout on a loaded machine. */
const SCRIPT_TIMEOUT = 60_000;

describe('npm run token for a party whose only agreement ended', () => {
  let t: TestHost;
  const DUDLEY = 'dudley-housing-options';
  const people = namedPeople(['Vic', 'Wyn'], 'Tokened', 1986);
  const [vic] = people;
  let ids: Map<string, string>;
  let agreementsDir: string;

  const token = (args: string[]) =>
    spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'scripts/token.ts'), ...args], {
      cwd: ROOT,
      env: minimalEnv({
        LOG_LEVEL: 'error',
        LINTEL_ENV: 'test',
        AGREEMENTS_DIR: agreementsDir,
        SQLITE_PATH: t.settings.SQLITE_PATH,
        LOCAL_SECRETS_PATH: t.settings.LOCAL_SECRETS_PATH,
        DEV_ISSUER_KEY_PATH: t.settings.DEV_ISSUER_KEY_PATH,
        AUTH_ISSUER: t.settings.AUTH_ISSUER,
        AUTH_AUDIENCE: t.settings.AUTH_AUDIENCE,
        PARTY_CLIENT_IDS: JSON.stringify(DEMO_CLIENT_IDS),
      }),
      encoding: 'utf8',
      timeout: SCRIPT_TIMEOUT,
    });

  beforeAll(async () => {
    t = await startTestHost();
    ids = await dudleyParticipantsConsenting(t, people, '07700 90070', 'HF/CONSENT/51');
    agreementsDir = agreementsFolderWithout(['housingFirst']);
    t = await restartTestHost(t, { AGREEMENTS_DIR: agreementsDir });
    expect(t.host.services.agreements.party(DUDLEY)).toBeUndefined();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it(
    "mints Dudley's DPO a token the host takes to withdraw a consent Dudley recorded",
    async () => {
      const minted = token(['--party', DUDLEY, '--role', 'dpo']);
      expect({ status: minted.status, stderr: minted.stderr }).toEqual({ status: 0, stderr: '' });
      expect(minted.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
      const withdrawn = await callApi(t, `/v1/consents/${ids.get(vic.givenName)}`, {
        token: minted.stdout.trim(),
        purpose: 'research-evaluation',
        method: 'DELETE',
      });
      expect(withdrawn.status, withdrawn.text).toBe(200);
      expect(await consentInForce(t, ids.get(vic.givenName) ?? '')).toBe(false);
    },
    SCRIPT_TIMEOUT,
  );

  it(
    'still refuses a role the party never held, and a party no agreement ever named (exit 2)',
    () => {
      const role = token(['--party', DUDLEY, '--role', 'researcher']);
      expect({ status: role.status, stdout: role.stdout }).toEqual({ status: 2, stdout: '' });
      expect(role.stderr).toContain('holds no role researcher');
      const party = token(['--party', 'dudley-housing', '--role', 'dpo']);
      expect({ status: party.status, stdout: party.stdout }).toEqual({ status: 2, stdout: '' });
      expect(party.stderr.trim().split('\n')).toEqual([
        'token: no party dudley-housing in the agreements',
        expect.stringMatching(/^usage: npm run token -- --party/),
      ]);
    },
    2 * SCRIPT_TIMEOUT,
  );
});
