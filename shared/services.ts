import type { BlobServiceClient } from '@azure/storage-blob';
import { resolve } from 'node:path';
import { createBlobServiceClient, ensureContainers } from './blob/blob-storage.js';
import { ConfigurationError, loadConfig, type Settings } from './config.js';
import { createLogger, type Logger } from './logging.js';
import { FolderError } from './make-folder.js';
import { KeyVaultSecretSource } from './secrets/key-vault-secret-source.js';
import { LocalSecretSource, SecretsFileError } from './secrets/local-secret-source.js';
import {
  SECRET_NAMES,
  SecretMalformedError,
  SecretUnavailableError,
  SecretVersionGoneError,
  type SecretSource,
} from './secrets/secret-source.js';
import { migrateToLatest, openStore, type Store } from './store/database.js';
import { makeStoreFolder, storeOptionsOf } from './store/store-options.js';
import type { AgreementSet } from './agreements/agreement-set.js';
import { loadAgreements } from './agreements/load.js';
import { parsePartyDirectory, type PartyDirectory } from './agreements/party-directory.js';
import { AccessLog } from './audit/access-log.js';
import { AnchorLog } from './audit/anchor-log.js';
import { alarmIfAnchorContainerCreatedAtStart } from './audit/checkpointer.js';
import { rememberAgreements } from './agreements/remembered-agreements.js';
import { warmRowWorker } from './imports/row-worker-client.js';
import { StoreConsentRegister } from './consents/store-consent-register.js';
import { linkingRulesOf } from './linkage/linking-rules.js';
import { warnOfDroppedDatasetsHeld } from './retention/dropped-datasets.js';
import { warnOfDroppedSourcesHeld } from './retention/dropped-sources.js';
import { readDeployedBuild } from './build-record.js';

/**
 * The composition root: every adapter lintel uses, built once from the settings and handed to
 * the use cases. Handlers in `functions/` ask for it; tests build their own.
 */
export interface Services {
  readonly settings: Settings;
  readonly logger: Logger;
  readonly store: Store;
  readonly blobs: BlobServiceClient;
  readonly secrets: SecretSource;
  readonly agreements: AgreementSet;
  readonly parties: PartyDirectory;
  readonly accessLog: AccessLog;
  readonly anchors: AnchorLog;
  readonly consents: StoreConsentRegister;
  close(): Promise<void>;
}

export function createSecretSource(settings: Settings): SecretSource {
  if (settings.SECRETS_SOURCE === 'keyvault')
    return new KeyVaultSecretSource({ vaultUri: settings.KEY_VAULT_URI!, pinnedVersions: settings.SECRET_VERSIONS });
  // A key file that cannot be used, or made, is that setting's fault: refused naming it.
  try {
    return new LocalSecretSource(resolve(settings.LOCAL_SECRETS_PATH));
  } catch (err) {
    if (err instanceof SecretsFileError || err instanceof FolderError)
      throw new ConfigurationError([`LOCAL_SECRETS_PATH: ${err.message}`]);
    throw err;
  }
}

export interface ServicesOptions {
  /** The anchor container; `audit-anchors` unless a test isolates itself (AnchorLogOptions.container). */
  anchorContainer?: string;
  /**
   * Started by an operator's script, signed in as the operator: a container their role does not
   * cover is passed over at start, not a failure (ensureContainers, infra/README.md "Operator access").
   */
  operatorScript?: boolean;
  /** The secrets port, where one other than the settings' is wanted (a test's, as Key Vault answers). */
  secrets?: SecretSource;
}

/**
 * Each secret's version in use (pinned, or the latest) read once at start. One Key Vault does not
 * hold (deleted, disabled) or holds in another shape waits for an operator, not a retry: refused
 * here, as a bad setting is, naming the secret and version and nothing of the value, rather than
 * found by the first import, lookup or checkpoint, with the health endpoint saying `up` till then.
 * One that cannot be read this time (throttled, a network fault, access refused) is named in the
 * log and left to the path that needs it, which answers 503 to retry: an outage is not a fault of
 * the configuration. An operator's script passes over this: its identity may hold no role on the
 * vault, and need none (infra/README.md, "Operator access").
 */
async function refuseUnusableSecrets(secrets: SecretSource, logger: Logger): Promise<void> {
  const problems: string[] = [];
  await Promise.all(
    SECRET_NAMES.map(async (name) => {
      try {
        await secrets.get(name);
      } catch (err) {
        if (err instanceof SecretMalformedError || err instanceof SecretVersionGoneError) problems.push(err.message);
        else if (err instanceof SecretUnavailableError) logger.warn('secrets.unavailable-at-start', { secret: name });
        else throw err;
      }
    }),
  );
  if (problems.length > 0) throw new ConfigurationError(problems.sort());
}

/**
 * The store the settings name. A folder for SQLITE_PATH that cannot be made (under a file, or
 * under /proc) is that setting's fault, and refused as loadConfig refuses the others, naming it.
 */
function openConfiguredStore(settings: Settings): Store {
  makeStoreFolder(settings);
  return openStore(storeOptionsOf(settings));
}

/**
 * `appRoot`: where a deployed package's build record lies, the working directory by default, as
 * the Functions worker runs the app from its root (the default AGREEMENTS_DIR is taken from it too).
 */
export async function createServices(
  settings: Settings,
  appRoot = resolve('.'),
  options: ServicesOptions = {},
): Promise<Services> {
  const logger = createLogger(settings.LOG_LEVEL);
  // Agreements first: an invalid agreement or client-id mapping stops start-up before any I/O.
  const loaded = loadAgreements(resolve(settings.AGREEMENTS_DIR));
  for (const warning of loaded.warnings) {
    logger.warn('agreements.warning', { file: warning.file, path: warning.path, message: warning.message });
  }
  for (const { agreement, file } of loaded.all()) {
    for (const { key, identifierKind } of linkingRulesOf(agreement).unsupportedKeys) {
      logger.warn('agreements.warning', {
        file,
        path: `matching ${key}`,
        message:
          'no linkage rule compares exactly this key (one whole identifier; or a date of birth or postcode, ' +
          'the last name and the first 3 letters of the first name): it links nothing' +
          (identifierKind === null
            ? ', and fills no name, date-of-birth or postcode column (the other keys or the conventional field names do)'
            : `; a lookup still finds people by the whole ${identifierKind} identifier, which the agreement matches on`),
      });
    }
  }
  // Its parties are checked once the store has said which ended agreements it remembers: a
  // party to one of those alone is still mapped, for its DPO.
  parsePartyDirectory(settings.PARTY_CLIENT_IDS, loaded, { checkParties: false });
  // Before the store: a development key file that cannot be used stops start-up naming its setting.
  const secrets = options.secrets ?? createSecretSource(settings);
  if (!options.operatorScript) await refuseUnusableSecrets(secrets, logger);
  const store = openConfiguredStore(settings);
  try {
    const applied = await migrateToLatest(store);
    if (applied.length > 0) logger.info('store.migrated', { migrations: applied.map((m) => m.migrationName) });
    // Which commit a deployed app runs, for its operator, in the log rather than on the
    // unauthenticated health endpoint, which names no versions.
    const build = await readDeployedBuild(appRoot);
    if (build !== undefined) logger.info('app.build', build);
    // Which agreement each purpose and dataset is, kept for when a re-signing drops it: its past
    // entries stay that agreement's business (agreements/remembered-agreements.ts). A file changed
    // under a version the store remembers is named, not refused: files are edited on a live store.
    const agreements = loaded.withFormerAgreements(await rememberAgreements(store, loaded, new Date(), logger));
    // An agreement whose file is gone grants nothing, but its DPOs still read its entries and its
    // parties still withdraw the consents they took under it: named at every start, so a file
    // removed by mistake is noticed.
    for (const { id } of agreements.formerAgreements()) logger.warn('agreements.agreement-ended', { agreementId: id });
    const parties = parsePartyDirectory(settings.PARTY_CLIENT_IDS, agreements);
    // A dataset the re-signing dropped keeps its records till an operator purges them: named at
    // every start till then (retention/dropped-datasets.ts).
    await warnOfDroppedDatasetsHeld({ store, agreements, logger });
    // So does a party a re-signing dropped as a source of a dataset (retention/dropped-sources.ts).
    await warnOfDroppedSourcesHeld({ store, agreements, logger });
    const blobs = createBlobServiceClient({
      connectionString: settings.AzureWebJobsStorage,
      serviceUri: settings.AzureWebJobsStorage__blobServiceUri,
    });
    const anchors = new AnchorLog(blobs, { container: options.anchorContainer });
    const created = await ensureContainers(blobs, {
      auditAnchors: anchors.containerName,
      skipRefused: options.operatorScript,
    });
    // Created again while the log holds anything, the anchors' container was lost, WORM policy and
    // all: said here, as the checkpointer will find it there and say nothing (checkpointer.ts).
    if (created.includes(anchors.containerName)) {
      await alarmIfAnchorContainerCreatedAtStart({ store, logger, container: anchors.containerName });
    }
    const accessLog = new AccessLog(store, logger);
    return {
      settings,
      logger,
      store,
      blobs,
      secrets,
      agreements,
      parties,
      accessLog,
      anchors,
      consents: new StoreConsentRegister(store),
      close: async () => {
        await accessLog.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}

/**
 * Starts, on a host that has just built its services, the threads its first calls would
 * otherwise wait for: the access log's writer and a row worker for the first large import.
 */
export function warmThreads(services: Services): void {
  services.accessLog.warm();
  warmRowWorker();
}

let current: Promise<Services> | undefined;

/**
 * The process-wide services, built on first use from the environment. A configuration error
 * rejects the promise rather than throwing, so that health reports it as `configuration: down`.
 */
export function getServices(): Promise<Services> {
  current ??= Promise.resolve()
    .then(() => createServices(loadConfig()))
    .then((services) => {
      warmThreads(services);
      return services;
    });
  current.catch(() => {
    current = undefined;
  });
  return current;
}

/** For the local host and tests, which build services from settings they chose. */
export function useServices(services: Promise<Services> | undefined): void {
  current = services;
}
