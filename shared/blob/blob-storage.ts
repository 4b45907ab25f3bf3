import { DefaultAzureCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';

import { CONTAINERS } from './containers.js';

export { CONTAINERS, type ContainerName } from './containers.js';

export interface BlobConnection {
  connectionString?: string | undefined;
  /** Managed identity: the account's blob endpoint, reached with DefaultAzureCredential. */
  serviceUri?: string | undefined;
}

export function createBlobServiceClient(connection: BlobConnection): BlobServiceClient {
  if (connection.connectionString) return BlobServiceClient.fromConnectionString(connection.connectionString);
  if (connection.serviceUri) return new BlobServiceClient(connection.serviceUri, new DefaultAzureCredential());
  throw new Error('No blob storage connection configured');
}

export interface EnsureContainersOptions {
  /** The anchor container; `audit-anchors` unless a test isolates itself (AnchorLogOptions.container). */
  auditAnchors?: string;
  /**
   * Pass over a container the identity may not create (403): an operator's script signs in as the
   * operator, whose role covers the container that script uses, not the account. Otherwise even
   * `relink`, which uses no container, needed a storage role on the account, and with it read
   * access to partners' files in `incoming/` (found by a review).
   */
  skipRefused?: boolean;
}

/**
 * Creates each container lintel owns that is not there; answers the names it created, so that the
 * caller can tell a container that was lost (the anchors' WORM policy with it) from a fresh install.
 */
export async function ensureContainers(
  client: BlobServiceClient,
  options: EnsureContainersOptions = {},
): Promise<string[]> {
  const created: string[] = [];
  for (const name of Object.values(CONTAINERS)) {
    const actual = name === CONTAINERS.auditAnchors ? (options.auditAnchors ?? name) : name;
    try {
      if ((await client.getContainerClient(actual).createIfNotExists()).succeeded) created.push(actual);
    } catch (err) {
      if (!(options.skipRefused === true && statusCodeOf(err) === 403)) throw err;
    }
  }
  return created;
}

/** True when every container answers; used by the health check. */
export async function containersReachable(client: BlobServiceClient): Promise<boolean> {
  const results = await Promise.all(Object.values(CONTAINERS).map((n) => client.getContainerClient(n).exists()));
  return results.every(Boolean);
}

/**
 * The HTTP status the service answered `err` with, if it is a service's answer. Duck-typed rather
 * than `instanceof RestError`: two copies of core-rest-pipeline break instanceof.
 */
export function statusCodeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
}

/** The service answered `status` with the error code `errorCode`. */
export function hasErrorCode(err: unknown, status: number, errorCode: string): boolean {
  if (statusCodeOf(err) !== status) return false;
  const { code, details } = err as { code?: unknown; details?: unknown };
  const headerCode = (details as { errorCode?: unknown } | undefined)?.errorCode;
  return code === errorCode || headerCode === errorCode;
}
