/**
 * Reading a storage connection string and a blob endpoint without the storage SDK: configuration
 * checks them at start-up, before any client exists, and `npm run seed` / `import` decide from
 * them whether they would upload to a local Azurite.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Azurite's (and the old storage emulator's) well-known account: its key is published. */
const DEVELOPMENT_ACCOUNT = 'devstoreaccount1';

/** A connection string's `key=value` pairs, keys lower-cased (the SDK reads them case-blind). */
export function connectionStringParts(connection: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const part of connection.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) parts.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return parts;
}

export function isDevelopmentStorageShortcut(parts: Map<string, string>): boolean {
  return parts.get('usedevelopmentstorage')?.toLowerCase() === 'true';
}

const urlOf = (text: string): URL | undefined => (URL.canParse(text) ? new URL(text) : undefined);

export function isLoopbackUrl(text: string): boolean {
  return LOOPBACK_HOSTS.has(urlOf(text)?.hostname.toLowerCase() ?? '');
}

/**
 * Whether a request URL goes to development storage (Azurite): on this machine, or naming its
 * well-known account, in the path (`http://host:10000/devstoreaccount1/…`) or the host
 * (`http://devstoreaccount1.blob.localhost:10000/…`).
 */
export function isDevelopmentStorageUrl(text: string): boolean {
  const url = urlOf(text);
  if (url === undefined) return false;
  const host = url.hostname.toLowerCase();
  const account = url.pathname.split('/')[1]?.toLowerCase();
  return (
    LOOPBACK_HOSTS.has(host) ||
    host.endsWith('.localhost') ||
    host.split('.')[0] === DEVELOPMENT_ACCOUNT ||
    account === DEVELOPMENT_ACCOUNT
  );
}

function isHttpsUrl(text: string): boolean {
  return urlOf(text)?.protocol === 'https:';
}

/**
 * Why a blob connection cannot serve production, or undefined when it can: development storage
 * (Azurite, whose account key anyone can read, on this machine or anywhere else), or a connection
 * that would send partners' files and the account key or token without TLS.
 */
export function productionStorageProblem(
  connection: { connectionString?: string; serviceUri?: string },
  setting: 'connectionString' | 'serviceUri',
): 'development' | 'not-https' | undefined {
  if (setting === 'serviceUri') {
    const uri = connection.serviceUri;
    if (uri === undefined) return undefined;
    if (isLoopbackUrl(uri)) return 'development';
    return isHttpsUrl(uri) ? undefined : 'not-https';
  }
  const text = connection.connectionString;
  if (text === undefined) return undefined;
  const parts = connectionStringParts(text);
  const endpoint = parts.get('blobendpoint');
  if (
    isDevelopmentStorageShortcut(parts) ||
    parts.get('accountname')?.toLowerCase() === DEVELOPMENT_ACCOUNT ||
    (endpoint !== undefined && isLoopbackUrl(endpoint))
  )
    return 'development';
  // The SDK builds the endpoint from DefaultEndpointsProtocol unless BlobEndpoint names one.
  if (endpoint !== undefined) return isHttpsUrl(endpoint) ? undefined : 'not-https';
  return parts.get('defaultendpointsprotocol')?.toLowerCase() === 'http' ? 'not-https' : undefined;
}

/**
 * The storage account a blob setting names, lower-cased, or undefined when it names none that can
 * be read: a connection string's AccountName (devstoreaccount1 for UseDevelopmentStorage=true), or
 * its BlobEndpoint's account; a blob endpoint's account is its host's first label
 * (`https://lintelprod.blob.core.windows.net`), or on this machine the first segment of its path,
 * as Azurite serves it (`http://127.0.0.1:10000/devstoreaccount1`).
 */
export function storageAccountOf(
  connection: { connectionString?: string; serviceUri?: string },
  setting: 'connectionString' | 'serviceUri',
): string | undefined {
  if (setting === 'serviceUri')
    return connection.serviceUri === undefined ? undefined : endpointAccount(connection.serviceUri);
  if (connection.connectionString === undefined) return undefined;
  const parts = connectionStringParts(connection.connectionString);
  if (isDevelopmentStorageShortcut(parts)) return DEVELOPMENT_ACCOUNT;
  const named = parts.get('accountname');
  if (named) return named.toLowerCase();
  const endpoint = parts.get('blobendpoint');
  return endpoint === undefined ? undefined : endpointAccount(endpoint);
}

function endpointAccount(text: string): string | undefined {
  const url = urlOf(text);
  if (url === undefined) return undefined;
  const account = LOOPBACK_HOSTS.has(url.hostname.toLowerCase())
    ? url.pathname.split('/')[1]
    : url.hostname.split('.')[0];
  return account ? account.toLowerCase() : undefined;
}
