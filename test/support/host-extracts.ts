import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { ImportContainers } from '../../shared/imports/extract-blob.js';
import { importExtract } from '../../shared/imports/import-extract.js';
import type { LinkDependencies } from '../../shared/linkage/link-people.js';
import type { TestHost } from './test-host.js';

/**
 * Extracts loaded into a test host's store through the real import, for API tests whose people
 * come from real files rather than inserted rows. The containers are the test's own, so the
 * host's blob watcher never picks the files up and imports them a second time.
 */
export interface HostExtracts {
  /** Uploads `lines` as `party/dataset/fileName` and imports it; it must load. Returns the run id. */
  load(party: string, dataset: string, fileName: string, lines: readonly string[]): Promise<string>;
  /** What a linking pass needs, on the host's store, keys and agreements. */
  linkDeps(): LinkDependencies;
  /** Deletes the containers. */
  remove(): Promise<void>;
}

export async function hostExtracts(t: TestHost): Promise<HostExtracts> {
  const s = t.host.services;
  const tag = randomUUID().slice(0, 8);
  const containers: ImportContainers = { incoming: `in-${tag}`, processed: `done-${tag}`, rejected: `rej-${tag}` };
  for (const name of Object.values(containers)) await s.blobs.getContainerClient(name).createIfNotExists();
  return {
    async load(party, dataset, fileName, lines) {
      const body = Buffer.from(lines.join('\n'), 'utf8');
      const blobName = `${party}/${dataset}/${fileName}`;
      await s.blobs.getContainerClient(containers.incoming).getBlockBlobClient(blobName).upload(body, body.length);
      const outcome = await importExtract(
        {
          store: s.store,
          blobs: s.blobs,
          agreements: s.agreements,
          secrets: s.secrets,
          logger: s.logger,
          accessLog: s.accessLog,
          maxBadRowShare: 0.05,
          containers,
        },
        { blobName, partyId: party, datasetId: dataset, fileName },
      );
      expect(outcome.outcome).toBe('loaded');
      return (outcome as { runId: string }).runId;
    },
    linkDeps: () => ({ store: s.store, secrets: s.secrets, agreements: s.agreements, logger: s.logger }),
    async remove() {
      for (const name of Object.values(containers)) await s.blobs.getContainerClient(name).deleteIfExists();
    },
  };
}
