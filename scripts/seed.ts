/**
 * `npm run seed` — synthetic partner extracts for every dataset in the agreements, written to
 * `.lintel/seed/` with the truth (`truth.csv`), and uploaded to the local stack's `incoming/`
 * (start it first with `npm start`; the local host imports them as they land).
 *
 *   npm run seed -- [--size 2000] [--share 0.3] [--seed lintel-demo] [--profile clean|typical|hard]
 *                   [--out .lintel/seed] [--no-upload]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BlobServiceClient } from '@azure/storage-blob';
import { azuriteConnectionString, portInUse } from '../local/azurite.js';
import { loadLocalSettings } from '../local/settings.js';
import { loadAgreements } from '../shared/agreements/load.js';
import { createBlobServiceClient } from '../shared/blob/blob-storage.js';
import { loadConfig, type Settings } from '../shared/config.js';
import type { ErrorProfileName } from '../shared/synthetic/error-profiles.js';
import { seedExtracts } from '../shared/synthetic/extracts/demo-seed.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: '2000' },
      share: { type: 'string', default: '0.3' },
      seed: { type: 'string', default: 'lintel-demo' },
      profile: { type: 'string', default: 'typical' },
      out: { type: 'string', default: '.lintel/seed' },
      'no-upload': { type: 'boolean', default: false },
    },
  });
  if (!['clean', 'typical', 'hard'].includes(values.profile))
    throw new Error('--profile must be clean, typical or hard');
  loadLocalSettings();
  const settings = loadConfig(process.env);
  const blobs = values['no-upload'] ? undefined : await localBlobClient(settings);
  const seeded = await seedExtracts({
    agreements: loadAgreements(resolve(settings.AGREEMENTS_DIR)),
    outDir: resolve(values.out),
    blobs,
    size: Number(values.size),
    share: Number(values.share),
    seed: values.seed,
    profile: values.profile as ErrorProfileName,
  });
  for (const s of seeded) process.stdout.write(`${String(s.rows).padStart(7)} rows  ${s.blobName}\n`);
  process.stdout.write(`\n${seeded.length} extracts in ${resolve(values.out)} (truth: truth.csv)`);
  process.stdout.write(blobs ? ', uploaded to incoming/.\n' : '.\n');
}

/** The local stack's blob service, as `npm start` runs it; it must be up. */
async function localBlobClient(settings: Settings): Promise<BlobServiceClient> {
  if (settings.AzureWebJobsStorage !== 'UseDevelopmentStorage=true')
    return createBlobServiceClient({
      connectionString: settings.AzureWebJobsStorage,
      serviceUri: settings.AzureWebJobsStorage__blobServiceUri,
    });
  const port = Number(process.env.AZURITE_BLOB_PORT ?? 10000);
  if (!(await portInUse(port)))
    throw new Error(`no Azurite on port ${port}: start the local stack with \`npm start\` (or pass --no-upload)`);
  return BlobServiceClient.fromConnectionString(azuriteConnectionString(port));
}

main().catch((err: unknown) => {
  process.stderr.write(`seed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
