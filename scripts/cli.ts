/**
 * How the operator CLIs answer a mistake: in one line, never a stack trace. A settings error
 * names the setting, never its value, a local.settings.json that cannot be read its file (and
 * line and column), a usage error repeats only what was typed on the command line, and a local
 * stack not running names the port it was looked for on; an invalid agreement names its file and
 * line, and `PARTY_CLIENT_IDS` naming a party no agreement knows names that party (never a client
 * id), as `npm start` does: the operator who added a partner must learn which step went wrong. A
 * folder that cannot be made (under a file, or under /proc) names its path, which is configured
 * or typed, never read from a row. Blob storage or Key Vault refusing the operator's own identity
 * is named by the HTTP status and the service's error code: a 403 with the role it needs, a 401
 * as the token not accepted, and Azurite's either as the account key being wrong; no Azure
 * credential on this machine at all, by how to sign in; a secret version gone or not in its
 * secret's shape, by the secret and the version id. Anything else is named by its kind only, as
 * its message may quote a setting or a row.
 */
import { statSync, type Stats } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LocalSettingsError, LocalStackNotRunningError } from '../local/settings.js';
import { AgreementValidationError } from '../shared/agreements/agreement-issue.js';
import { PartyDirectoryError } from '../shared/agreements/party-directory.js';
import { isDevelopmentStorageUrl } from '../shared/blob/storage-connection.js';
import { ConfigurationError } from '../shared/config.js';
import { errorCodeOf, errorKind } from '../shared/logging.js';
import { FolderError, makeFolder as makeSharedFolder } from '../shared/make-folder.js';
import {
  SecretMalformedError,
  SecretUnavailableError,
  SecretVersionGoneError,
} from '../shared/secrets/secret-source.js';
import { MigrationFailedError } from '../shared/store/migration-failed-error.js';

function isUsageError(err: unknown): boolean {
  const code = errorCodeOf(err);
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/**
 * The line for an error of a script whose own errors say what to do in their message, printed as
 * they are; a refused connection (`npm start` stopped, and its Azurite with it, while the script
 * ran) as {@link failureLine} answers it: Node's bare `connect ECONNREFUSED 127.0.0.1:<port>` says
 * neither what refused nor what to do. So is a storage account refusing the identity (`--remote`):
 * the service's message quotes its request, and names no role.
 */
export function ownErrorLine(script: string, err: unknown): string {
  return isConnectionRefused(err) || noCredentialFound(err) || azureRefusal(err) !== undefined
    ? failureLine(script, err)
    : `${script}: ${err instanceof Error ? err.message : String(err)}\n`;
}

/** Whether `err` is a connection refused: storage (or the host) is not listening where it was. */
export function isConnectionRefused(err: unknown): boolean {
  return errorCodeOf(err) === 'ECONNREFUSED';
}

// An error code is the service's own token; anything else in its place is not printed.
const ERROR_CODE = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const printable = (code: unknown): string | undefined =>
  typeof code === 'string' && ERROR_CODE.test(code) ? code : undefined;

/**
 * What a 401 or 403 from blob storage or Key Vault says, as `<status> <code>`. A 403: the
 * operator's own identity lacks a data-plane role there (or, hardened, the service's firewall
 * shuts this machine out); a 401: the token was not accepted. From Azurite (its request's URL
 * says so), either is the shared key being wrong. Read by shape, as hasErrorCode (shared/blob/blob-storage.ts) reads RestError, through the
 * causes of our own errors: Key Vault's comes inside a SecretUnavailableError, which says which
 * service refused. A disabled version (SecretVersionGoneError) is the secret's state, not a refusal.
 */
function azureRefusal(
  err: unknown,
): { service: 'blob' | 'vault' | 'azurite'; status: 401 | 403; answer: string } | undefined {
  let inVault = false;
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof SecretVersionGoneError) return undefined;
    if (e instanceof SecretUnavailableError) inVault = true;
    const { statusCode, code, details, request } = e as Error & {
      statusCode?: unknown;
      code?: unknown;
      request?: { url?: unknown } | null;
      details?: { errorCode?: unknown; error?: { innerError?: { code?: unknown } | null } | null };
    };
    // An AuthenticationError of @azure/identity carries a statusCode too: that is the sign-in
    // failing, not a service refusing the identity signed in.
    if (e.name !== 'RestError' || (statusCode !== 401 && statusCode !== 403)) continue;
    const service = printable(code) ?? printable(details?.errorCode);
    const inner = inVault ? printable(details?.error?.innerError?.code) : undefined;
    const answer = [String(statusCode), service].filter(Boolean).join(' ') + (inner ? `, ${inner}` : '');
    const url = request?.url;
    const local = !inVault && typeof url === 'string' && isDevelopmentStorageUrl(url);
    return { service: inVault ? 'vault' : local ? 'azurite' : 'blob', status: statusCode, answer };
  }
  return undefined;
}

// What @azure/identity names the errors of DefaultAzureCredential finding no credential to use: the
// chain's, and one credential's on its own. By name, as the SDK's may be another copy's classes.
const NO_CREDENTIAL = new Set(['AggregateAuthenticationError', 'CredentialUnavailableError']);

/**
 * Whether `err` is, or carries, DefaultAzureCredential finding no credential on this machine:
 * blob storage throws the chain's error as it is, Key Vault's comes inside a
 * SecretUnavailableError, and Azure SQL's (tedious) inside an AggregateError beside its own.
 */
function noCredentialFound(err: unknown, depth = 0): boolean {
  if (!(err instanceof Error) || depth > 5) return false;
  if (NO_CREDENTIAL.has(err.name)) return true;
  const beside = err instanceof AggregateError ? (err.errors as unknown[]) : [];
  return [err.cause, ...beside].some((e) => noCredentialFound(e, depth + 1));
}

const OPERATOR_ACCESS = '(infra/README.md, "Operator access")';

/** The line `npm run <script>` prints to stderr when it fails with `err`. */
export function failureLine(script: string, err: unknown): string {
  if (
    err instanceof ConfigurationError ||
    err instanceof LocalSettingsError ||
    err instanceof LocalStackNotRunningError ||
    err instanceof AgreementValidationError ||
    err instanceof PartyDirectoryError ||
    err instanceof FolderError
  )
    return `${script}: ${(err as Error).message}\n`;
  // Which secret and version Key Vault no longer has (its message quotes no key, and only a
  // version id): "failed (SecretVersionGoneError)" left the operator to guess which of three.
  if (err instanceof SecretMalformedError) return `${script}: ${err.message}\n`;
  if (err instanceof SecretVersionGoneError)
    return `${script}: ${err.message}: restore or re-enable it, or pin a version that is there (SECRET_VERSIONS) (infra/README.md, "Rotating keys")\n`;
  // The credential's own message lists every way it tried and the machine's tools: only the
  // ways to sign in are said.
  if (noCredentialFound(err))
    return `${script}: no Azure credential found: sign in with \`az login\` (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or run with a managed identity)\n`;
  if (err instanceof MigrationFailedError)
    return `${script}: ${err.message}${err.reason === undefined ? ` (${errorKind(err.cause)})` : ''}\n`;
  const refusal = azureRefusal(err);
  // Azurite knows the account key alone: a role is no answer there.
  if (refusal?.service === 'azurite')
    return `${script}: Azurite refused the request (${refusal.answer}): the account key or connection string in AzureWebJobsStorage is wrong (UseDevelopmentStorage=true is Azurite's own); roles play no part locally\n`;
  // A 401 is the token itself refused (issued for another tenant, or expired); a role is a 403's answer.
  if (refusal?.status === 401)
    return `${script}: ${refusal.service === 'vault' ? 'Key Vault' : 'blob storage'} did not accept this identity's token (${refusal.answer}): it is for another tenant, or has expired: sign in again (\`az login --tenant <tenant id>\`) ${OPERATOR_ACCESS}\n`;
  if (refusal?.service === 'blob')
    return `${script}: blob storage refused this identity (${refusal.answer}): it needs the Storage Blob Data Contributor role on the container it uses ${OPERATOR_ACCESS}\n`;
  if (refusal?.service === 'vault')
    return `${script}: Key Vault refused this identity (${refusal.answer}): it needs the Key Vault Secrets User role on the vault ${OPERATOR_ACCESS}\n`;
  const refused = isConnectionRefused(err);
  return `${script}: failed (${errorKind(err)})${refused ? ': storage refused the connection; is the local host (npm start) running?' : ''}\n`;
}

/**
 * When the command line asks for the usage line (`--help` or `-h`, before any `--` that ends the
 * options), prints it to stdout and ends the script with exit 0.
 */
export function answerHelp(usage: string, args: readonly string[] = process.argv.slice(2)): void {
  const end = args.indexOf('--');
  if (!(end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h')) return;
  process.stdout.write(`usage: ${usage}\n`);
  process.exit(0);
}

/**
 * Ends the script with exit 2, before it touches anything, for a command line it cannot run:
 * `problem` (if any) as `<script>: <problem>`, then the usage line (if any).
 */
export function refuseUsage(script: string, problem: string | undefined, usage?: string): never {
  process.stderr.write(
    `${problem === undefined ? '' : `${script}: ${problem}\n`}${usage === undefined ? '' : `usage: ${usage}\n`}`,
  );
  process.exit(2);
}

/**
 * The script's options (strict, as parseArgs defaults to). `--help` or `-h` prints the usage line
 * to stdout and exits 0; an unknown option, a value missing or a stray argument ends the script
 * with exit 2 before it touches anything, named with the usage line after it: it is the command
 * line that cannot be run, as with a value the script cannot read.
 */
export function parseOptions<T extends ParseArgsConfig>(
  script: string,
  usage: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  answerHelp(usage, config.args);
  try {
    return parseArgs(config);
  } catch (err) {
    if (isUsageError(err)) refuseUsage(script, (err as Error).message, usage);
    process.stderr.write(failureLine(script, err));
    process.exit(2);
  }
}

/**
 * The file `file` (as typed) names, looked at before the script does anything else: read later,
 * a path that is no file surfaced as Node's "ENOENT: …" naming no option, or, from a stream,
 * as an unhandled error with a stack trace. Ends the script with exit 2 for a path that is no
 * file or is a folder, naming `option` where the script takes several files.
 */
export function requireFile(script: string, file: string, option?: string): Stats {
  const which = option === undefined ? '' : ` (${option})`;
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') refuseUsage(script, `no file ${file}${which}`);
    throw err;
  }
  if (stats.isDirectory()) refuseUsage(script, `${file} is a folder, not a file${which}`);
  return stats;
}

/**
 * The folder `folder` (as typed) names, made if it is not there yet, before the script writes
 * into it (shared/make-folder.ts: not Node's recursive mkdir, which spun for ever on
 * `npm run seed -- --out /proc/nope`). Ends the script with exit 2 for a path that is, or lies
 * under, a file, or a folder that cannot be made, naming it and `option`.
 */
export function makeFolder(script: string, folder: string, option: string): void {
  try {
    makeSharedFolder(folder);
  } catch (err) {
    if (!(err instanceof FolderError)) throw err;
    refuseUsage(
      script,
      err.file === undefined
        ? `cannot make the folder ${folder} for ${option} (${err.code})`
        : `${option} must be a folder: ${err.file} is a file`,
    );
  }
}
