import type { AgreementSet } from '../agreements/agreement-set.js';

/** A purge refused before it touched anything; names the dataset id typed, nothing else. */
export class DatasetPurgeRefused extends Error {
  constructor(
    readonly datasetId: string,
    readonly reason: 'still-defined' | 'unknown',
  ) {
    super(
      reason === 'still-defined'
        ? `dataset ${datasetId} is still defined by an agreement: only a dataset a re-signing dropped can be purged`
        : `dataset ${datasetId} is not one the store remembers any agreement defining`,
    );
    this.name = 'DatasetPurgeRefused';
  }
}

/** A source's purge refused before it touched anything; names the ids typed, nothing else. */
export class SourcePurgeRefused extends Error {
  constructor(
    readonly datasetId: string,
    readonly partyId: string,
    readonly reason: 'dataset-not-defined' | 'still-source' | 'unknown' | 'not-yet-linked',
  ) {
    super(
      reason === 'dataset-not-defined'
        ? `dataset ${datasetId} is not defined by any agreement: purge the whole dataset, without --party`
        : reason === 'still-source'
          ? `party ${partyId} is still a source of dataset ${datasetId}: only a source a re-signing dropped can be purged`
          : reason === 'unknown'
            ? `party ${partyId} has sent no records of dataset ${datasetId}: only a source a re-signing dropped can be purged`
            : `dataset ${datasetId}'s agreement has not been linked since it was re-signed: try again after the next linking pass (the five-minute timer, or npm run relink)`,
    );
    this.name = 'SourcePurgeRefused';
  }
}

/**
 * The refusal of a purge (of the dataset, or with `partyId` of the party's records of it) that
 * the agreements' files decide alone: a dataset still defined, or for a party's records one no
 * longer defined or a party still a source of it. Undefined where only the store can tell (a
 * dataset it never held, a party that never sent it, a re-signing not yet linked). Read apart
 * from the purges so that purge-dataset refuses these before it loads the store.
 */
export function purgeRefusedByTheAgreements(
  agreements: AgreementSet,
  datasetId: string,
  partyId?: string,
): DatasetPurgeRefused | SourcePurgeRefused | undefined {
  if (partyId === undefined) {
    return agreements.dataset(datasetId) === undefined
      ? undefined
      : new DatasetPurgeRefused(datasetId, 'still-defined');
  }
  if (agreements.dataset(datasetId) === undefined)
    return new SourcePurgeRefused(datasetId, partyId, 'dataset-not-defined');
  if (agreements.isSource(partyId, datasetId)) return new SourcePurgeRefused(datasetId, partyId, 'still-source');
  return undefined;
}
