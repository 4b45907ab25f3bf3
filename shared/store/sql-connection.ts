import { createRequire } from 'node:module';
import type * as connectionStringModule from '@tediousjs/connection-string';
import type mssqlModule from 'mssql';

// Loaded when a connection string is read, not with configuration: settings are read by every
// CLI, and a token or an import on SQLite loads no SQL Server driver (cli-errors.test.ts).
const requireModule = createRequire(import.meta.url);

/**
 * An Azure SQL connection string as the store reads it, with mssql's own connection-string
 * reader so ADO.NET strings from the portal work. Configuration reads it too, to refuse at
 * start-up a production connection that would not be checked TLS.
 */
export interface SqlConnection {
  server: string;
  port: number;
  database: string | undefined;
  /** Absent: the store signs in with DefaultAzureCredential (the app's managed identity). */
  user: string | undefined;
  password: string | undefined;
  /** TLS for the whole session; on unless the string turns it off. */
  encrypt: boolean;
  /** Accept any server certificate: TLS a machine in the middle could present its own key to. */
  trustServerCertificate: boolean;
  /**
   * How long to wait for the server when connecting, from `Connect Timeout` (or `Connection
   * Timeout`) in seconds; undefined when the string sets none. NaN when it is no whole number.
   */
  connectTimeoutMs: number | undefined;
  /**
   * How long a statement may run, from `Request Timeout` in seconds as Connect Timeout is (mssql's
   * own pool reads this key in milliseconds; lintel gives tedious its options itself). Undefined or
   * NaN as connectTimeoutMs.
   */
  requestTimeoutMs: number | undefined;
}

export function parseSqlConnection(connectionString: string): SqlConnection {
  const mssql = requireModule('mssql') as typeof mssqlModule;
  const parsed = mssql.ConnectionPool.parseConnectionString(connectionString) as {
    server: string;
    port?: number;
    database?: string;
    user?: string;
    password?: string;
    options?: { encrypt?: boolean; trustServerCertificate?: boolean };
  };
  const timeouts = timeoutTextsOf(connectionString);
  return {
    server: parsed.server,
    port: parsed.port ?? 1433,
    database: parsed.database,
    user: parsed.user,
    password: parsed.password,
    encrypt: parsed.options?.encrypt ?? true,
    trustServerCertificate: parsed.options?.trustServerCertificate ?? false,
    connectTimeoutMs: millisecondsOf(timeouts['connection timeout']),
    requestTimeoutMs: millisecondsOf(timeouts['request timeout']),
  };
}

/**
 * The timeouts as the string spells them. mssql's reader takes the leading digits (parseInt), so
 * `Connect Timeout=0.5` read as 0 and `2.5` as 2 s unsaid; the text lets a fraction be refused.
 * Read with the parser mssql itself uses and its names for the key, so the two readings take the
 * same value. Resolved through mssql, not a dependency of lintel's own: a direct dependency would be
 * the same copy only while its version matched mssql's range, and after an mssql upgrade npm would
 * give each its own, two readers of one string. (The type import above is erased at build: only
 * tsc reads the hoisted copy.)
 */
function timeoutTextsOf(connectionString: string): { 'connection timeout'?: string; 'request timeout'?: string } {
  const mssqlRequire = createRequire(requireModule.resolve('mssql'));
  const { parse, MSSQL_SCHEMA } = mssqlRequire('@tediousjs/connection-string') as typeof connectionStringModule;
  return parse(connectionString).toSchema({
    'connection timeout': { type: 'string', aliases: MSSQL_SCHEMA['connection timeout']?.aliases },
    'request timeout': { type: 'string' },
  });
}

/** Whole seconds as milliseconds; NaN for anything else (a fraction, a unit, no number). */
function millisecondsOf(seconds: string | undefined): number | undefined {
  if (seconds === undefined) return undefined;
  return /^\d+$/.test(seconds.trim()) ? Number(seconds.trim()) * 1000 : NaN;
}
