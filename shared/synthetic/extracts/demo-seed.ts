import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { AgreementSet } from '../../agreements/agreement-set.js';
import type { Services } from '../../services.js';
import { CONTAINERS } from '../../blob/containers.js';
import { ukDateOf } from '../../domain/uk-date.js';
import { makeFolder } from '../../make-folder.js';
import type { ErrorProfileName } from '../error-profiles.js';
import { drawMembers, extractPlans, writeExtract, type TruthRow } from '../extracts.js';
import { generatePopulation } from '../people.js';

/**
 * A demo set of partner extracts: one population, an extract for every source of every dataset
 * in the agreements (each source holding its own share of the people, so they overlap and
 * linkage has work to do), written under `outDir` with the truth beside them
 * (`truth.csv`: file, row, person), and uploaded to `incoming/` when a blob client is given —
 * where the import picks them up like any partner's upload.
 */
export interface SeedOptions {
  readonly agreements: AgreementSet;
  readonly outDir: string;
  readonly blobs?: BlobServiceClient;
  /** People in the population (default 2,000). */
  readonly size?: number;
  /** Share of the population each source holds (default 0.3). */
  readonly share?: number;
  readonly seed?: string;
  readonly profile?: ErrorProfileName;
  /** The extract date, in the file names (`extract-YYYY-MM-DD.csv`); default today in the UK. */
  readonly asOf?: string;
  /** Default `incoming`. */
  readonly container?: string;
}

export interface SeededExtract {
  readonly blobName: string;
  readonly path: string;
  readonly rows: number;
}

export async function seedExtracts(options: SeedOptions): Promise<SeededExtract[]> {
  const size = options.size ?? 2_000;
  const seed = options.seed ?? 'lintel-demo';
  // The UK day, as a partner dates an extract: the UTC day named yesterday from midnight to one
  // in the morning of a summer day.
  const asOf = options.asOf ?? ukDateOf(new Date());
  const population = generatePopulation({ seed, size });
  makeFolder(options.outDir);
  const truth = createWriteStream(join(options.outDir, 'truth.csv'));
  truth.write('file,row,person,errors\n');
  const writeTruth = (t: TruthRow) => truth.write(`${t.blobName},${t.row},${t.personId},${t.errors}\n`);
  const seeded: SeededExtract[] = [];
  for (const plan of extractPlans(options.agreements, `extract-${asOf}.csv`)) {
    const members = drawMembers(
      size,
      Math.round(size * (options.share ?? 0.3)),
      `${seed}:${plan.partyId}:${plan.datasetId}`,
    );
    const path = join(options.outDir, plan.blobName);
    makeFolder(dirname(path));
    const out = createWriteStream(path);
    const rows = await writeExtract({
      population,
      plan,
      members,
      profile: options.profile ?? 'typical',
      seed,
      truth: writeTruth,
      write: async (chunk) => {
        if (!out.write(chunk)) await once(out, 'drain');
      },
    });
    out.end();
    await once(out, 'finish');
    if (options.blobs) {
      await options.blobs
        .getContainerClient(options.container ?? CONTAINERS.incoming)
        .getBlockBlobClient(plan.blobName)
        .uploadFile(path);
    }
    seeded.push({ blobName: plan.blobName, path, rows });
  }
  truth.end();
  await once(truth, 'finish');
  return seeded;
}

/**
 * `npm start` on a fresh machine: when the store has never imported anything, upload a small
 * demo set so the API has people to find. Returns the extracts uploaded (none when the store
 * already has imports). Set LINTEL_DEMO_SEED=off to start empty.
 */
export async function seedDemoIfEmpty(
  services: Pick<Services, 'store' | 'blobs' | 'agreements'>,
  outDir: string,
): Promise<SeededExtract[]> {
  if (process.env.LINTEL_DEMO_SEED === 'off') return [];
  const any = await services.store.dialect
    .firstRows(services.store.db.selectFrom('import_run').select('id').orderBy('id'), 1)
    .executeTakeFirst();
  if (any !== undefined) return [];
  return seedExtracts({ agreements: services.agreements, blobs: services.blobs, outDir, size: 1_000 });
}
