/**
 * `npm run token -- --party <id> --role <role> [--role <role>…] [--minutes 60]`
 * Mints a development bearer token for a demo party, signed by the local host's development
 * issuer. The client id is the one PARTY_CLIENT_IDS maps to that party, and each role one the
 * party holds in the agreements (the API drops any other). The token names the issuer this
 * shell's settings give (`AUTH_ISSUER`): the host verifies it only if its own settings name the
 * same one.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadLocalSettings } from '../local/settings.js';
import { loadAgreements } from '../shared/agreements/load.js';
import type { AgreementSet } from '../shared/agreements/agreement-set.js';
import { parsePartyDirectory, rolesHeldBy } from '../shared/agreements/party-directory.js';
import { developmentIssuer } from '../shared/auth/development-issuer.js';
import { ConfigurationError, loadConfig, type Settings } from '../shared/config.js';
import { errorCodeOf } from '../shared/logging.js';
import { makeSettingFolder } from '../shared/make-folder.js';
import { refuseNoStoreFile, storeOptionsOf } from '../shared/store/store-options.js';
import { failureLine, parseOptions, refuseUsage } from './cli.js';

const USAGE = 'npm run token -- --party <party-id> --role <role> [--role <role>] [--minutes 60]';

async function main(): Promise<void> {
  const { values } = parseOptions('token', USAGE, {
    options: {
      party: { type: 'string' },
      role: { type: 'string', multiple: true, default: [] },
      minutes: { type: 'string', default: '60' },
    },
  });

  loadLocalSettings();
  const settings = loadConfig(process.env);
  if (settings.LINTEL_ENV === 'production') {
    refuseUsage('token', 'the development issuer is not available in production');
  }
  // A token with no role is refused by every endpoint: it is not minted (found by a review).
  if (!values.party || values.role.length === 0) {
    refuseUsage('token', undefined, USAGE);
  }
  const minutes = Number(values.minutes);
  // The API refuses a token meant to live more than a day (shared/auth/token-verifier.ts).
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
    refuseUsage('token', '--minutes must be a whole number from 1 to 1440 (a day)', USAGE);
  }
  const loaded = loadAgreements(resolve(settings.AGREEMENTS_DIR));
  // A party to an agreement that ended (its file removed), or one a re-signing dropped, is known
  // to the store alone, as the host remembers it: the host still takes its token, to withdraw the
  // consents and opt-outs it recorded and, where it audited, to read the log. Read from the files
  // alone, it was no party, and no token could be minted to try that (found by a review).
  const agreements =
    loaded.party(values.party) === undefined
      ? loaded.withFormerAgreements({
          purposes: new Map(),
          datasets: new Map(),
          ...(await rememberedBy(settings, loaded)),
        })
      : loaded;
  // The API drops a role the party holds in no agreement (resolveCaller, party-directory.ts): a
  // token asked for with a mistyped role (`housing_officer`) was minted, and then refused by
  // every endpoint as a token without a role is, with nothing to say why (found by a review of
  // the CLIs). Refused here instead, naming the roles the party does hold; a mistyped party is
  // named as such, not as a gap in PARTY_CLIENT_IDS, and with the usage line, as a mistyped id
  // (import's --party, relink's --agreement) is; a role is the party's, so one it does not hold is
  // the agreements' refusal, named alone.
  const held = rolesHeldBy(agreements, values.party);
  if (!held) refuseUsage('token', `no party ${values.party} in the agreements`, USAGE);
  const notHeld = values.role.filter((role) => !held.has(role));
  if (notHeld.length > 0) {
    refuseUsage(
      'token',
      `party ${values.party} holds no role ${notHeld.join(', ')} in the agreements (its roles: ${[...held].sort().join(', ')})`,
    );
  }
  // The setting's parties are not checked against the files here: a party to an agreement that
  // ended (its file removed) stays mapped for its DPO, and only the store, which the host checks it
  // against at start (services.ts), remembers that agreement. Checked against the files alone,
  // that mapping refused every party's token (found by a review).
  const clientId = parsePartyDirectory(settings.PARTY_CLIENT_IDS, agreements, { checkParties: false }).clientIdsFor(
    values.party,
  )[0];
  if (!clientId) {
    refuseUsage('token', `no client id is mapped to party ${values.party} in PARTY_CLIENT_IDS`);
  }
  const keyPath = resolve(settings.DEV_ISSUER_KEY_PATH);
  // The key's folder, made where it is not there yet: one that cannot be made names the setting.
  makeSettingFolder('DEV_ISSUER_KEY_PATH', dirname(keyPath));
  const issuer = await developmentIssuer(keyPath, settings.AUTH_ISSUER);
  const token = await issuer.mint({
    clientId,
    roles: values.role,
    audience: settings.AUTH_AUDIENCE,
    expiresInSeconds: minutes * 60,
  });
  process.stdout.write(token + '\n');
}

/**
 * The agreements and parties the store remembers (agreements/remembered-agreements.ts), read without
 * writing. None where there is no store yet (a SQLite file is not created for this), or it holds
 * no such memory (not migrated): the files alone say who is a party, as before.
 */
async function rememberedBy(settings: Settings, loaded: AgreementSet) {
  const options = storeOptionsOf(settings);
  if (options.engine === 'sqlite' && (options.path === ':memory:' || !existsSync(options.path))) return {};
  // A SQLITE_PATH that is a folder, or a file that is no SQLite store, is that setting's fault:
  // it was answered "token: SqliteError", naming neither the setting nor what is wrong with it.
  if (options.engine === 'sqlite') refuseNoStoreFile(options.path);
  // Loaded only here, once there is a store to read: every other token is minted from the files.
  const [{ openStore }, { readRememberedParties }] = await Promise.all([
    import('../shared/store/database.js'),
    import('../shared/agreements/remembered-agreements.js'),
  ]);
  let store;
  try {
    store = openStore(options);
  } catch (err) {
    const code = errorCodeOf(err);
    if (options.engine === 'sqlite' && typeof code === 'string' && code.startsWith('SQLITE_'))
      throw new ConfigurationError([`SQLITE_PATH: cannot open ${options.path} as a SQLite store (${code})`]);
    throw err;
  }
  try {
    return await readRememberedParties(store, loaded);
  } catch {
    return {};
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  // Settings errors name the setting, never its value (local.settings.json's its file, line and
  // column); anything else is named by its kind only, as its message may quote a setting
  // (JSON.parse does). A usage error never gets here:
  // parseOptions and refuseUsage end the script first, with exit 2 and the usage line.
  process.stderr.write(failureLine('token', err));
  process.exit(1);
});
