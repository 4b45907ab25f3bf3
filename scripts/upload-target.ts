/**
 * Where `npm run seed` and `npm run import` may upload. They push synthetic people (seed) or an
 * operator's file (import) into `incoming/`, where the importer loads them: against a real
 * deployment's storage that is synthetic people in the partnership's data. So they upload only to
 * a local Azurite unless `--remote` is given, and never when `LINTEL_ENV` is `production`.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import { azuriteConnectionString } from '../local/azurite.js';
import { runningAzuritePort } from '../local/settings.js';
import {
  connectionStringParts,
  isDevelopmentStorageShortcut,
  isLoopbackUrl,
} from '../shared/blob/storage-connection.js';
import type { Settings } from '../shared/config.js';

export type UploadSettings = Pick<
  Settings,
  'LINTEL_ENV' | 'AzureWebJobsStorage' | 'AzureWebJobsStorage__blobServiceUri'
>;

/** Whether the configured blob storage is a local Azurite (or another emulator on this machine). */
export function isLocalStorage(settings: UploadSettings): boolean {
  const connection = settings.AzureWebJobsStorage?.trim();
  // The connection string wins over the service URI, as in createBlobServiceClient.
  if (connection) {
    const parts = connectionStringParts(connection);
    if (isDevelopmentStorageShortcut(parts)) return true;
    const endpoint = parts.get('blobendpoint');
    // Without a blob endpoint, a connection string names an account in Azure (even devstoreaccount1).
    return endpoint !== undefined && isLoopbackUrl(endpoint);
  }
  const uri = settings.AzureWebJobsStorage__blobServiceUri;
  return uri !== undefined && isLoopbackUrl(uri);
}

/**
 * Throws, with what to do, unless the script may upload to the configured storage: a local
 * Azurite, or anything but production with `--remote`. The message names no connection string.
 */
export function checkUploadTarget(settings: UploadSettings, options: { script: string; remote: boolean }): void {
  if (settings.LINTEL_ENV === 'production')
    throw new Error(
      `refusing to upload: LINTEL_ENV is production. \`npm run ${options.script}\` puts synthetic or test data into incoming/ and never runs against production`,
    );
  if (options.remote || isLocalStorage(settings)) return;
  throw new Error(
    `refusing to upload: AzureWebJobsStorage (or AzureWebJobsStorage__blobServiceUri) is not a local Azurite (UseDevelopmentStorage=true, or a blob endpoint on 127.0.0.1 or localhost). Check the settings, or pass --remote to upload to that storage account on purpose`,
  );
}

/**
 * The blob service the script uploads to, once {@link checkUploadTarget} allows it. For
 * `UseDevelopmentStorage=true`, the Azurite of `npm start` (`AZURITE_BLOB_PORT`), which must be up.
 */
export async function uploadBlobClient(
  settings: UploadSettings,
  options: { script: string; remote: boolean; startHint: string },
): Promise<BlobServiceClient> {
  checkUploadTarget(settings, options);
  // Imported here, not at the top: the storage SDK (and @azure/identity) took tsx some 1 s to load
  // before import and seed had read their command line, which they refuse without it.
  const { createBlobServiceClient } = await import('../shared/blob/blob-storage.js');
  if (settings.AzureWebJobsStorage?.trim() !== 'UseDevelopmentStorage=true') {
    if (options.remote && !isLocalStorage(settings))
      process.stderr.write(`${options.script}: --remote: uploading to the configured storage account\n`);
    return createBlobServiceClient({
      connectionString: settings.AzureWebJobsStorage,
      serviceUri: settings.AzureWebJobsStorage__blobServiceUri,
    });
  }
  const port = await runningAzuritePort(process.env, options.startHint);
  return createBlobServiceClient({ connectionString: azuriteConnectionString(port) });
}
