import { sql, type Kysely } from 'kysely';
import type { Store } from './database.js';
import type { Database } from './schema.js';

/**
 * Thrown when a transaction lock could not be had: another transaction held it past the timeout,
 * or SQL Server chose this transaction as a deadlock victim. The caller's transaction rolls back.
 */
export class TransactionLockUnavailableError extends Error {
  constructor(
    readonly resource: string,
    /** sp_getapplock's return status: -1 timed out, -2 cancelled, -3 deadlock victim, -999 bad call. */
    readonly status: number,
  ) {
    super(`A transaction lock could not be taken (sp_getapplock returned ${status})`);
    this.name = 'TransactionLockUnavailableError';
  }
}

/**
 * An exclusive lock on `resource`, held until `trx` ends: transactions that check something and
 * then write on what they found run one at a time for the same resource. SQL Server needs it
 * (its default isolation lets two such transactions both find nothing and both write);
 * on SQLite every transaction holds the store's one connection, so they already do.
 * sp_getapplock reports a timeout in its return status, not as an error, so the status is read
 * and a refusal thrown: carrying on without the lock is what the lock exists to prevent.
 * `resource` must carry no personal data (SQL Server shows it in its lock views).
 */
export async function takeTransactionLock(
  store: Store,
  trx: Kysely<Database>,
  resource: string,
  timeoutMs: number,
): Promise<void> {
  if (store.dialect.engine !== 'mssql') return;
  const { rows } = await sql<{ status: number }>`
    declare @status int;
    exec @status = sp_getapplock @Resource = ${resource}, @LockMode = 'Exclusive',
      @LockOwner = 'Transaction', @LockTimeout = ${timeoutMs};
    select @status as status`.execute(trx);
  const status = Number(rows[0]?.status);
  // 0: granted at once; 1: granted after waiting.
  if (!(status >= 0)) throw new TransactionLockUnavailableError(resource, status);
}
