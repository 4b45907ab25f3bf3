/**
 * `npm run purge-dataset -- --dataset <id>`   delete every record of a dataset a re-signed agreement dropped
 * `npm run purge-dataset -- --dataset <id> --party <id>`   delete a party's records of a dataset a re-signed agreement no longer lists it as a source of
 *
 * Runs against the configured store (local settings by default). The records go as a retention
 * rule's do (shared/retention/dropped-datasets.ts): one `retention-delete` access-log entry a
 * person (reason `dataset-dropped`), their identifier hashes kept for subject access, the records
 * their people may change left for the next linking pass, all in one transaction; no opted-out
 * person's matching keys are kept, and those earlier loads kept for the dataset are deleted, as
 * none of its records can arrive again (the opt-outs stay in force). Deletion cannot be undone, so it is never done at start-up
 * (which only warns, `agreements.dataset-dropped`) and is refused for a dataset any agreement
 * still defines, or one the store does not remember any agreement defining. Prints counts only.
 * With `--party`, the party's records of a dataset still defined, whose sources a re-signing no
 * longer lists it among (shared/retention/dropped-sources.ts), as a retention rule's go: its
 * opted-out people's matching keys are kept, as records of the dataset can still arrive; refused
 * while the party is still a source or never sent the dataset, and until the agreement is linked
 * under its re-signed files.
 * Exit status: 0 purged, 1 failed, 2 an unknown option, or a dataset or party it refuses (nothing touched;
 * with the usage line for one no agreement ever defined, a mistyped --dataset, or a party that
 * never sent the dataset, a mistyped --party).
 */
import type { Services } from '../shared/services.js';
import {
  DatasetPurgeRefused,
  purgeRefusedByTheAgreements,
  SourcePurgeRefused,
} from '../shared/retention/purge-refusals.js';
import { failureLine, parseOptions, refuseUsage } from './cli.js';
import { configuredAgreements } from './configured-agreements.js';

const USAGE = 'npm run purge-dataset -- --dataset <id> [--party <id>]';
const { values } = parseOptions('purge-dataset', USAGE, {
  options: { dataset: { type: 'string' }, party: { type: 'string' } },
});
if (values.dataset === undefined) refuseUsage('purge-dataset', '--dataset is required', USAGE);
const datasetId = values.dataset;
let services: Services | undefined;
try {
  // A dataset an agreement still defines (or, with --party, one none defines, or a party still a
  // source of it) is refused on the agreements' files alone, touching nothing: the store would
  // only say the same some 1-2 s later.
  const refused = purgeRefusedByTheAgreements(configuredAgreements(), datasetId, values.party);
  if (refused !== undefined) refuseUsage('purge-dataset', refused.message);
  // The stack's graph (the store, its drivers, every migration) is loaded only once the command
  // line is read: a mistyped option, a refusal of the agreements or --help is answered without
  // it, as token's is (it took tsx some 2 s to load first).
  const { purgeDroppedDataset } = await import('../shared/retention/dropped-datasets.js');
  const { purgeDroppedSource } = await import('../shared/retention/dropped-sources.js');
  const { stackServices } = await import('./stack-services.js');
  services = await stackServices();
  if (values.party !== undefined) {
    const s = await purgeDroppedSource(services, datasetId, values.party);
    process.stdout.write(
      `${s.datasetId} of ${s.agreementId}, from ${s.partyId}: ${s.recordsDeleted} records of ${s.peopleDeleted} people deleted, ` +
        `the matching keys of ${s.optedOutKeysKept} opted-out people kept\n`,
    );
  } else {
    const s = await purgeDroppedDataset(services, datasetId);
    process.stdout.write(
      `${s.datasetId} (formerly of ${s.formerAgreementId}): ${s.recordsDeleted} records of ${s.peopleDeleted} people deleted, ` +
        `with the matching keys earlier loads kept of ${s.optedOutKeysDeleted} opted-out people\n`,
    );
  }
} catch (err) {
  if (err instanceof SourcePurgeRefused) {
    // Touched nothing, as a refused dataset: a source still listed, or the re-signing not yet
    // linked; a party that never sent the dataset is a mistyped --party, told with the usage line.
    await services?.close();
    services = undefined;
    refuseUsage('purge-dataset', err.message, err.reason === 'unknown' ? USAGE : undefined);
  } else if (err instanceof DatasetPurgeRefused) {
    // refuseUsage exits at once, past the finally below: the store is closed first. A dataset no
    // agreement ever defined is a mistyped --dataset (the usage line follows, as for import's and
    // relink's ids); one an agreement still defines is refused alone.
    await services?.close();
    services = undefined;
    refuseUsage('purge-dataset', err.message, err.reason === 'unknown' ? USAGE : undefined);
  } else {
    process.stderr.write(failureLine('purge-dataset', err));
    process.exitCode = 1;
  }
} finally {
  await services?.close();
}
