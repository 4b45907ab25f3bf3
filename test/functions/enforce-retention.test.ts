import { randomUUID } from 'node:crypto';
import functions from '@azure/functions';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../functions/enforce-retention.js';
import { registrations, type TimerRegistration } from '../../functions/registry.js';
import type { ImportContainers } from '../../shared/imports/extract-blob.js';
import { importExtract } from '../../shared/imports/import-extract.js';
import { createLogger } from '../../shared/logging.js';
import { createServices, useServices, type Services } from '../../shared/services.js';
import { nhs } from '../support/linked-people.js';
import { testSettings } from '../support/settings.js';

const { InvocationContext } = functions;
const ISA = 'multiple-disadvantage-indicators';
const KEYWAYS = 'keyways-housing-register';
const BOB = nhs(920);

/**
 * The half-hourly catch-up links what is pending, then applies every agreement's retention. One
 * agreement's linking pass that failed (here Keyways': the store refuses its link run) stopped
 * every agreement's retention, the ISA's among them, for as long as it kept failing.
 */
describe('enforceRetention timer, when one agreement cannot be linked', () => {
  let services: Services;
  let containers: ImportContainers;
  const logLines: Record<string, unknown>[] = [];

  async function load(party: string, dataset: string, lines: readonly string[]): Promise<void> {
    const body = Buffer.from(lines.join('\n'), 'utf8');
    const blobName = `${party}/${dataset}/a.csv`;
    await services.blobs.getContainerClient(containers.incoming).getBlockBlobClient(blobName).upload(body, body.length);
    const outcome = await importExtract(
      { ...services, maxBadRowShare: 0.05, containers },
      { blobName, partyId: party, datasetId: dataset, fileName: 'a.csv' },
    );
    expect(outcome.outcome).toBe('loaded');
  }

  beforeAll(async () => {
    services = await createServices(testSettings());
    // The failure below is the one this test makes: its error line is asserted here, not written
    // to the suite's output, where it read as a real fault.
    useServices(
      Promise.resolve({
        ...services,
        logger: createLogger('debug', (line) => logLines.push(JSON.parse(line) as Record<string, unknown>)),
      }),
    );
    const tag = randomUUID().slice(0, 8);
    containers = { incoming: `in-${tag}`, processed: `done-${tag}`, rejected: `rej-${tag}` };
    for (const name of Object.values(containers)) await services.blobs.getContainerClient(name).createIfNotExists();
    await load('la-housing', ISA, [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,inTemporaryAccommodation',
      // Left temporary accommodation: the ISA holds him no longer.
      `Bob,Jones,2010-01-01,ME15 2YY,${BOB},N`,
    ]);
    await load('la-childrens-social-care', ISA, [
      'firstName,lastName,dateOfBirth,homePostcode,nhsNumber,socialCareSystemId,childProtection',
      `Bob,Jones,2010-01-01,ME15 2YY,${BOB},SC-2,Y`,
    ]);
    await load('kettering-borough-council', KEYWAYS, [
      'firstName,lastName,dateOfBirth,address,nationalInsuranceNumber',
      'Mohammed,Ali,1990-01-01,1 High St Kettering,JG103759A',
    ]);
    // Every linking pass of Keyways fails in the store itself, as a full disk or a broken
    // constraint would; the ISA's passes are untouched.
    await sql`create trigger keyways_link_fails before insert on link_run
      when new.agreement_id = 'keyways-housing-allocation'
      begin select raise(abort, 'link run refused'); end`.execute(services.store.db);
  });
  afterAll(async () => {
    useServices(undefined);
    for (const name of Object.values(containers ?? {})) await services?.blobs.getContainerClient(name).deleteIfExists();
    await services?.close();
  });

  it("still links and applies the ISA's retention, and reports the run as failed", async () => {
    const timer = registrations().find(
      (r): r is TimerRegistration => r.kind === 'timer' && r.name === 'enforceRetention',
    )!;
    const context = new InvocationContext({ invocationId: randomUUID(), functionName: 'enforceRetention' });

    await expect(
      Promise.resolve(timer.handler({ isPastDue: false, scheduleStatus: undefined } as never, context)),
      'the run must fail for the retry policy and alerts to see it',
    ).rejects.toThrow();
    expect(
      logLines
        .filter((line) => line.level === 'error')
        .map(({ event, agreementId, kind }) => ({ event, agreementId, kind })),
      'the one failure logged is the link run this test refuses',
    ).toEqual([
      {
        event: 'linkage.pending-failed',
        agreementId: 'keyways-housing-allocation',
        kind: 'SqliteError:SQLITE_CONSTRAINT_TRIGGER',
      },
    ]);

    const left = await services.store.db
      .selectFrom('source_record')
      .select(['dataset_id', 'party_id'])
      .orderBy('dataset_id')
      .execute();
    // Bob's ISA records are gone; Keyways' applicant, whose pass failed, is kept unjudged.
    expect(left, "the ISA's retention did not run").toEqual([
      { dataset_id: KEYWAYS, party_id: 'kettering-borough-council' },
    ]);
    const deletions = await services.store.db
      .selectFrom('access_log')
      .select('purpose')
      .where('action', '=', 'retention-delete')
      .execute();
    expect(deletions).toEqual([{ purpose: 'social-care-education-housing' }]);
  });
});
