import { createRequire } from 'node:module';
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
   * Timeout`) in seconds; undefined when the string sets none. NaN when it names no number.
   */
  connectTimeoutMs: number | undefined;
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
    /** In milliseconds; null when the string's value is no number. */
    connectionTimeout?: number | null;
  };
  return {
    server: parsed.server,
    port: parsed.port ?? 1433,
    database: parsed.database,
    user: parsed.user,
    password: parsed.password,
    encrypt: parsed.options?.encrypt ?? true,
    trustServerCertificate: parsed.options?.trustServerCertificate ?? false,
    connectTimeoutMs: parsed.connectionTimeout === null ? NaN : parsed.connectionTimeout,
  };
}
