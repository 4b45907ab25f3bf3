import { createRequire } from 'node:module';
import functions from '@azure/functions';
import type { HttpHandler, HttpMethod, StorageQueueHandler, TimerHandler } from '@azure/functions';

/**
 * One table of every trigger lintel has. Each registration goes to the v4 `app.*` call (when
 * the Functions runtime is present) and into this table, which the local host reads to serve
 * the same routes and fire the same blob handlers — so the two cannot drift apart.
 */
export interface HttpRegistration {
  kind: 'http';
  name: string;
  /** Route below the `api/` prefix from host.json, in Functions template syntax (`v1/people/{personRef}`). */
  route: string;
  methods: HttpMethod[];
  handler: HttpHandler;
}

/**
 * A function fired by Event Grid's `BlobCreated` event when a blob is created in `container`.
 * In Azure an Event Grid subscription (infra/) filters on the container and writes each event to
 * the storage queue `queue`, and the function is that queue's trigger: Event Grid waits only 30
 * seconds for a webhook and then delivers again, while a queue message stays hidden, its lease
 * renewed by the host, for as long as the import runs. Locally the host watches the container
 * and hands the handler the same event. The handler reads its message with
 * `eventOfQueueMessage` (shared/blob/blob-created-event.ts).
 */
/**
 * How many times the queue hands a message over before it moves it to `<queue>-poison`: host.json's
 * `extensions.queues.maxDequeueCount` (test/infra checks they agree), which the local host's watcher
 * follows too. More than the import's own MAX_IMPORT_ATTEMPTS, so that the delivery after its last
 * attempt comes and rejects the file with a report; the rest ride out an outage of the store
 * (host.json's `visibilityTimeout` apart, 45 minutes in all) before the message is set aside.
 */
export const QUEUE_MAX_DELIVERIES = 10;

export interface BlobCreatedRegistration {
  kind: 'blob-created';
  name: string;
  container: string;
  queue: string;
  handler: StorageQueueHandler;
}

/** A function run on a schedule (NCRONTAB, six fields, as the Functions host reads it). */
export interface TimerRegistration {
  kind: 'timer';
  name: string;
  schedule: string;
  /**
   * The host's retry policy for a failed run. A timer's failed run is otherwise not tried again
   * before its next occurrence, which for a monthly schedule is a month away. Fixed delays in
   * milliseconds only, so the local host follows exactly what the Functions host does.
   */
  retry?: { strategy: 'fixedDelay'; maxRetryCount: number; delayInterval: number };
  handler: TimerHandler;
}

export type Registration = HttpRegistration | BlobCreatedRegistration | TimerRegistration;

const table: Registration[] = [];

/**
 * The runtime injects `@azure/functions-core`; without it the package runs in "test mode" and
 * only warns on every registration, so the call is skipped rather than spamming the local host.
 */
function runtimePresent(): boolean {
  try {
    createRequire(import.meta.url)('@azure/functions-core');
    return true;
  } catch {
    return false;
  }
}
const inRuntime = runtimePresent();

function add(registration: Registration): void {
  if (table.some((r) => r.name === registration.name))
    throw new Error(`Function ${registration.name} registered twice`);
  table.push(registration);
}

export function registerHttp(r: Omit<HttpRegistration, 'kind'>): void {
  add({ kind: 'http', ...r });
  // Authentication is lintel's own (Entra ID bearer tokens), so no function keys.
  if (inRuntime)
    functions.app.http(r.name, { route: r.route, methods: r.methods, authLevel: 'anonymous', handler: r.handler });
}

export function registerBlobCreated(r: Omit<BlobCreatedRegistration, 'kind'>): void {
  add({ kind: 'blob-created', ...r });
  // The host's own storage connection (AzureWebJobsStorage__*, the app's identity): the queue
  // lives in the account that holds incoming/.
  if (inRuntime)
    functions.app.storageQueue(r.name, { queueName: r.queue, connection: 'AzureWebJobsStorage', handler: r.handler });
}

export function registerTimer(r: Omit<TimerRegistration, 'kind'>): void {
  add({ kind: 'timer', ...r });
  if (inRuntime) functions.app.timer(r.name, { schedule: r.schedule, retry: r.retry, handler: r.handler });
}

export function registrations(): readonly Registration[] {
  return table;
}
