// What the store's SQL Server connections are made with, from the operator's connection string.
// No SQL Server runs here; how long a refusal takes end to end is migrate-script.test.ts's.
import { describe, expect, it } from 'vitest';
import { mssqlConnectionOptions } from '../../../shared/store/database.js';

const SERVER = 'Server=tcp:sql-lintel.database.windows.net,1433;Database=lintel';

describe('the SQL Server connection options', () => {
  // Connect Timeout was read by mssql's parser and then dropped: every connection waited the
  // driver's 15 s, and a caller the pool's 30 s of retries, whatever the operator had set.
  it.each([
    ['Connect Timeout=2', 2000],
    ['Connection Timeout=45', 45_000],
  ])("gives %s to each connection and to the caller's wait for the pool", (timeout, ms) => {
    const { connection, pool } = mssqlConnectionOptions(`${SERVER};${timeout}`);
    expect(connection.options?.connectTimeout).toBe(ms);
    expect(pool.acquireTimeoutMillis).toBe(ms);
  });

  // The pool gives up on a connection it is making after 30 s of its own (tarn's create timeout)
  // and starts another: a Connect Timeout above that (a serverless database resuming takes about
  // a minute) was cut to 30 s a connection, against what the README says.
  it.each([
    ['Connect Timeout=2', 2000],
    ['Connection Timeout=60', 60_000],
  ])('lets the pool wait as long as %s for each connection it makes', (timeout, ms) => {
    expect(mssqlConnectionOptions(`${SERVER};${timeout}`).pool.createTimeoutMillis).toBe(ms);
  });

  // Request Timeout was read by mssql's parser and then dropped: every statement was cut off at a
  // fixed 15 minutes, whether the operator's host allowed longer or wanted a stuck one ended sooner.
  it.each([
    ['Request Timeout=600', 600_000],
    ['Request Timeout=3600', 3_600_000],
  ])('gives %s (seconds, as Connect Timeout) to each statement', (timeout, ms) => {
    expect(mssqlConnectionOptions(`${SERVER};${timeout}`).connection.options?.requestTimeout).toBe(ms);
  });

  it("control: without a Request Timeout a statement may run 15 minutes, not the driver's 15 s", () => {
    expect(mssqlConnectionOptions(SERVER).connection.options?.requestTimeout).toBe(15 * 60 * 1000);
  });

  it("control: without a Connect Timeout the driver's and the pool's own waits stand", () => {
    const { connection, pool } = mssqlConnectionOptions(SERVER);
    expect(connection.options).not.toHaveProperty('connectTimeout');
    expect(pool).not.toHaveProperty('acquireTimeoutMillis');
    expect(pool).toEqual({ min: 0, max: 10 });
  });
});
