/**
 * `npm run seed` — synthetic partner extracts for every dataset in the agreements, written to
 * `.lintel/seed/` with the truth (`truth.csv`), and uploaded to the local stack's `incoming/`
 * (start it first with `npm start`; the local host imports them as they land).
 *
 *   npm run seed -- [--size 2000] [--share 0.3] [--seed lintel-demo] [--profile clean|typical|hard]
 *                   [--out .lintel/seed] [--no-upload] [--remote]
 *
 * It uploads only to a local Azurite (scripts/upload-target.ts): `--remote` allows the configured
 * storage account, and nothing allows it when LINTEL_ENV is production.
 */
import { resolve } from 'node:path';
import { makeFolder, ownErrorLine, parseOptions, refuseUsage } from './cli.js';
import { loadLocalSettings } from '../local/settings.js';
import { loadAgreements } from '../shared/agreements/load.js';
import { loadConfig } from '../shared/config.js';
import type { ErrorProfileName } from '../shared/synthetic/error-profiles.js';
import { seedExtracts } from '../shared/synthetic/extracts/demo-seed.js';
import { uploadBlobClient } from './upload-target.js';

const USAGE =
  'npm run seed -- [--size 2000] [--share 0.3] [--seed lintel-demo] [--profile clean|typical|hard] [--out .lintel/seed] [--no-upload] [--remote]';

async function main(): Promise<void> {
  const { values } = parseOptions('seed', USAGE, {
    options: {
      size: { type: 'string', default: '2000' },
      share: { type: 'string', default: '0.3' },
      seed: { type: 'string', default: 'lintel-demo' },
      profile: { type: 'string', default: 'typical' },
      out: { type: 'string', default: '.lintel/seed' },
      'no-upload': { type: 'boolean', default: false },
      remote: { type: 'boolean', default: false },
    },
  });
  // A command line seed cannot run is the operator's to retype (exit 2, as every script answers
  // one), not a failure of the run (exit 1).
  if (!['clean', 'typical', 'hard'].includes(values.profile))
    refuseUsage('seed', '--profile must be clean, typical or hard', USAGE);
  // Number() of a mistyped value is NaN, which seeds extracts of nobody and reports success.
  const size = Number(values.size);
  if (!Number.isInteger(size) || size < 1)
    refuseUsage('seed', '--size must be a whole number of people, at least 1', USAGE);
  const share = Number(values.share);
  if (!(share > 0 && share <= 1)) refuseUsage('seed', '--share must be a number above 0 and at most 1', USAGE);
  loadLocalSettings();
  const settings = loadConfig(process.env);
  const blobs = values['no-upload']
    ? undefined
    : await uploadBlobClient(settings, {
        script: 'seed',
        remote: values.remote,
        startHint: 'start the local stack with `npm start` (or pass --no-upload)',
      });
  // Made here, not by seedExtracts, so a folder that cannot be made is refused in one line
  // naming --out (makeFolder); after the upload target is allowed, so that a refused one writes nothing.
  makeFolder('seed', values.out, '--out');
  const seeded = await seedExtracts({
    agreements: loadAgreements(resolve(settings.AGREEMENTS_DIR)),
    outDir: resolve(values.out),
    blobs,
    size,
    share,
    seed: values.seed,
    profile: values.profile as ErrorProfileName,
  });
  for (const s of seeded) process.stdout.write(`${String(s.rows).padStart(7)} rows  ${s.blobName}\n`);
  process.stdout.write(`\n${seeded.length} extracts in ${resolve(values.out)} (truth: truth.csv)`);
  process.stdout.write(blobs ? ', uploaded to incoming/.\n' : '.\n');
}

main().catch((err: unknown) => {
  process.stderr.write(ownErrorLine('seed', err));
  process.exit(1);
});
