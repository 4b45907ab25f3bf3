/**
 * A migration the database refused. The message names it, and the database's reason where a
 * statement was refused (SQLite's, or SQL Server's through tedious): schema statements carry no
 * personal data. Any other cause (the connection lost, a token refused) is left to the cause, as
 * its message may quote the server or every credential tried.
 *
 * In a module of its own, importing no driver, so every script's failure lines (scripts/cli.ts)
 * can name it without loading the store: a script refusing its command line (`npm run token --
 * --bogus`) loaded kysely, both drivers and every migration first, some 3 s on an idle machine.
 */
export class MigrationFailedError extends Error {
  constructor(
    readonly migration: string,
    cause: unknown,
    /** The database's reason for refusing a statement; undefined for any other cause. */
    readonly reason: string | undefined,
  ) {
    super(`Migration ${migration} failed${reason === undefined ? '' : `: ${reason}`}`, { cause });
    this.name = 'MigrationFailedError';
  }
}
