import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import functions from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import '../../../functions/import-blob.js';
import { registrations, type BlobCreatedRegistration } from '../../../functions/registry.js';
import { createServices, useServices, type Services } from '../../../shared/services.js';
import { blobCreated } from '../../support/blob-created.js';
import { testSettings } from '../../support/settings.js';
import { importFixture } from './import-harness.js';

/**
 * What the Functions host sees of a failed import: it logs a thrown error's message and stack,
 * so the error the trigger throws carries the failure's kind and the run, never the message of
 * the error underneath (a driver's message can quote a value, e.g. SQL Server error 2628).
 */

const { InvocationContext } = functions;

const SECRET = 'QQ123456C';
const DRIVER_MESSAGE = `String or binary data would be truncated in table 'lintel.dbo.source_record', column 'postcode'. Truncated value: '${SECRET}'.`;

function driverError(): Error {
  return Object.assign(new Error(DRIVER_MESSAGE), { name: 'RequestError', code: 'EREQUEST', number: 2628 });
}

/** What a call threw, or undefined if it returned. */
async function failureOf(call: unknown): Promise<unknown> {
  try {
    await call;
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('importBlob function, when the import fails', () => {
  let services: Services;
  let handler: BlobCreatedRegistration['handler'];
  const context = () => new InvocationContext({ invocationId: randomUUID(), functionName: 'importBlob' });

  beforeAll(async () => {
    services = await createServices(testSettings());
    useServices(Promise.resolve(services));
    handler = registrations().find(
      (r): r is BlobCreatedRegistration => r.kind === 'blob-created' && r.name === 'importBlob',
    )!.handler;
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    useServices(undefined);
    await services?.close();
  });

  it('throws an error naming the kind and the run, with no text of the original message', async () => {
    const blobName = `la-housing/multiple-disadvantage-indicators/fail-${randomUUID()}.csv`;
    const content = importFixture('good.csv');
    await services.blobs.getContainerClient('incoming').getBlockBlobClient(blobName).upload(content, content.length);
    const append = vi.spyOn(services.accessLog, 'append').mockRejectedValueOnce(driverError());
    const logged = vi.spyOn(services.logger, 'error');

    const thrown = await failureOf(handler(blobCreated(blobName), context()));
    append.mockRestore();

    expect(thrown).toBeInstanceOf(Error);
    const error = thrown as Error;
    const run = await services.store.db
      .selectFrom('import_run')
      .selectAll()
      .where('blob_name', '=', blobName)
      .executeTakeFirstOrThrow();
    const everything = [error.message, error.stack ?? '', String(error), inspect(error, { depth: 5 })].join('\n');
    for (const fragment of [SECRET, 'Truncated value', 'String or binary data', 'postcode', 'source_record'])
      expect(everything).not.toContain(fragment);
    expect(error.message).toContain('RequestError:EREQUEST');
    expect(error.message).toContain(run.id);
    expect(error).toMatchObject({ kind: 'RequestError:EREQUEST', runId: run.id });
    // The structured log line is kept, with the kind only.
    expect(logged).toHaveBeenCalledWith('import.failed', expect.objectContaining({ runId: run.id }));
    expect(JSON.stringify(logged.mock.calls)).not.toContain(SECRET);
    // Thrown, so Event Grid retries: the file waits in incoming, and the retry finishes it.
    expect(await services.blobs.getContainerClient('incoming').getBlobClient(blobName).exists()).toBe(true);
    // The queue hands the message back once its visibility timeout (five minutes, host.json) has
    // passed, not at once: a delivery of the moment gives the failed one 10 s to write its entry.
    const fiveMinutesEarlier = new Date(Date.parse(run.finished_at!) - 5 * 60_000).toISOString();
    await services.store.db
      .updateTable('import_run')
      .set({ finished_at: fiveMinutesEarlier })
      .where('id', '=', run.id)
      .execute();
    await handler(blobCreated(blobName), context());
    expect(await services.blobs.getContainerClient('processed').getBlobClient(blobName).exists()).toBe(true);
  });

  it('throws a neutral error also when the failure comes before a run is claimed', async () => {
    const blobName = `la-housing/multiple-disadvantage-indicators/early-${randomUUID()}.csv`;
    const content = importFixture('good.csv');
    await services.blobs.getContainerClient('incoming').getBlockBlobClient(blobName).upload(content, content.length);
    const agreements = vi.spyOn(services.agreements, 'dataset').mockImplementationOnce(() => {
      throw driverError();
    });
    const thrown = await failureOf(handler(blobCreated(blobName), context()));
    agreements.mockRestore();
    expect(thrown).toBeInstanceOf(Error);
    const everything = [(thrown as Error).message, (thrown as Error).stack ?? '', inspect(thrown)].join('\n');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toContain('Truncated value');
    expect((thrown as Error).message).toContain('RequestError:EREQUEST');
  });
});
