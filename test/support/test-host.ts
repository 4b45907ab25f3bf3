import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { developmentIssuer } from '../../shared/auth/development-issuer.js';
import type { Settings } from '../../shared/config.js';
import { startLocalHost, type LocalHost } from '../../local/local-host.js';
import { freePort } from '../../local/free-port.js';
import { testSettings } from './settings.js';
import { AnchorLog } from '../../shared/audit/anchor-log.js';
import { logSize } from '../../shared/audit/leaf-stream.js';

/** The demo parties' client ids, from the same example settings a newcomer starts with. */
export const DEMO_CLIENT_IDS: Record<string, string> = JSON.parse(
  (
    JSON.parse(readFileSync(join(import.meta.dirname, '../../local.settings.example.json'), 'utf8')) as {
      Values: Record<string, string>;
    }
  ).Values.PARTY_CLIENT_IDS!,
) as Record<string, string>;

export function clientIdOf(partyId: string): string {
  const found = Object.entries(DEMO_CLIENT_IDS).find(([, p]) => p === partyId)?.[0];
  if (!found) throw new Error(`no demo client for ${partyId}`);
  return found;
}

export interface TestHost {
  host: LocalHost;
  settings: Settings;
  url: string;
  /** A real ES256 token from the host's development issuer. */
  token(partyId: string, roles: string[], options?: { clientId?: string; expiresInSeconds?: number }): Promise<string>;
  /** How many entries the access log holds now. */
  accessLogSize(): Promise<number>;
  stop(): Promise<void>;
}

/** The reason codes of a party's access-log entries (of one action, if named), oldest first. */
export async function reasonCodesOf(t: TestHost, partyId: string, action?: string): Promise<string[]> {
  let query = t.host.services.store.db
    .selectFrom('access_log')
    .select('reason_code')
    .where('party_id', '=', partyId)
    .orderBy('seq');
  if (action !== undefined) query = query.where('action', '=', action);
  return (await query.execute()).map((row) => row.reason_code);
}

/** One API call over real HTTP: who calls (a party and roles, or a token of its own), the purpose, the body. */
export interface ApiCall {
  party?: string;
  roles?: string[];
  token?: string;
  purpose?: string;
  /** Default: POST with a body, GET without. */
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is (oversized or malformed bodies); instead of `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  /** The content-type. */
  type: string | null;
  text: string;
  /** The JSON body; `{}` when there is none. */
  body: Record<string, unknown>;
}

/** `init` as the API sees it: a bearer token when a party or token is given, `X-Purpose`, JSON. */
export async function callApi(t: TestHost, path: string, init: ApiCall = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
  const token = init.token ?? (init.party ? await t.token(init.party, init.roles ?? []) : undefined);
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.purpose) headers['x-purpose'] = init.purpose;
  const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const res = await fetch(`${t.url}/api${path}`, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    type: res.headers.get('content-type'),
    text,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

/** Withdraws a consent or opt-out over HTTP (`DELETE /v1/consents/{id}`) as the caller. */
export function withdrawConsent(
  t: TestHost,
  consentId: string | undefined,
  caller: Pick<ApiCall, 'party' | 'roles' | 'purpose'>,
): Promise<ApiAnswer> {
  return callApi(t, `/v1/consents/${consentId}`, { ...caller, method: 'DELETE' });
}

/**
 * The local host on a free port, with the development issuer at that port and the demo parties
 * mapped; on 127.0.0.1, or on `listenOn` (`::` for callers from IPv6 addresses too).
 */
export async function startTestHost(overrides: Record<string, string> = {}, listenOn?: string): Promise<TestHost> {
  const port = await freePort();
  const settings = testSettings({
    AUTH_ISSUER: `http://127.0.0.1:${port}/dev-issuer`,
    AUTH_JWKS_URI: `http://127.0.0.1:${port}/dev-issuer/jwks.json`,
    PARTY_CLIENT_IDS: JSON.stringify(DEMO_CLIENT_IDS),
    ...overrides,
  });
  // No blob watching: another test's file dropped into the shared incoming container would be
  // imported here, and its access-log entry counted among this host's. No timers, for the same
  // reason: a checkpoint would land in the anchors every host shares.
  const host = await startLocalHost({
    settings,
    port,
    watchBlobs: false,
    runTimers: false,
    ...(listenOn === undefined ? {} : { host: listenOn }),
  });
  const issuer = await developmentIssuer(settings.DEV_ISSUER_KEY_PATH, settings.AUTH_ISSUER);
  return {
    host,
    settings,
    url: host.url,
    token: (partyId, roles, options = {}) =>
      issuer.mint({
        clientId: options.clientId ?? clientIdOf(partyId),
        roles,
        audience: settings.AUTH_AUDIENCE,
        ...(options.expiresInSeconds === undefined ? {} : { expiresInSeconds: options.expiresInSeconds }),
      }),
    accessLogSize: () => logSize(host.services.store),
    stop: () => host.stop(),
  };
}

/**
 * Stops the host and starts another on the same store, keys and development issuer, with
 * `overrides` (the agreements as re-signed or ended, say): what a deployment meets when the
 * agreement files change under data written before. Nothing else of the first host's settings is
 * carried over.
 */
export async function restartTestHost(t: TestHost, overrides: Record<string, string> = {}): Promise<TestHost> {
  const { SQLITE_PATH, LOCAL_SECRETS_PATH, DEV_ISSUER_KEY_PATH } = t.settings;
  await t.stop();
  return startTestHost({ ...overrides, SQLITE_PATH, LOCAL_SECRETS_PATH, DEV_ISSUER_KEY_PATH });
}

/** Whether the consent (or opt-out) with this id is on the register and not withdrawn. */
export async function consentInForce(t: TestHost, consentId: string): Promise<boolean> {
  return (await t.host.services.consents.find(consentId))?.withdrawnAt === null;
}

/** An entry of a client's activity as a DPO reads it. */
export interface ActivityEntry {
  action: string;
  purpose: string;
  reasonCode: string;
  datasets: string[];
  subjectRefs?: string[];
}

/**
 * The party's client's access-log entries from `from` to a minute from now, up to 500, as the
 * `auditor` party's DPO reads them (`GET /v1/audit/clients/{clientId}/activity`); the call must
 * answer 200.
 */
export async function clientActivity(
  t: TestHost,
  partyId: string,
  auditor: string,
  from: string,
): Promise<ActivityEntry[]> {
  const to = new Date(Date.now() + 60_000).toISOString();
  const res = await callApi(t, `/v1/audit/clients/${clientIdOf(partyId)}/activity?from=${from}&to=${to}&limit=500`, {
    party: auditor,
    roles: ['dpo'],
  });
  expect(res.status, res.text).toBe(200);
  return res.body.entries as ActivityEntry[];
}

/**
 * {@link clientActivity}'s entries (of one action, if named) as `action purpose reasonCode
 * subjects`, the last the number of people the entry refers to.
 */
export async function clientActivityLines(
  t: TestHost,
  partyId: string,
  auditor: string,
  from: string,
  action?: string,
): Promise<string[]> {
  return (await clientActivity(t, partyId, auditor, from))
    .filter((e) => action === undefined || e.action === action)
    .map((e) => `${e.action} ${e.purpose} ${e.reasonCode} ${e.subjectRefs?.length}`);
}

/**
 * Gives the host an anchor container of its own, for a test that anchors checkpoints. The hosts
 * of a test run share one Azurite, and so `audit-anchors`: a checkpoint one test anchored there
 * was read by another's verify as another log's (audit-api's verify failed when
 * openapi-responses checkpointed at the same moment).
 */
export async function ownAnchorContainer(t: TestHost): Promise<void> {
  const { blobs } = t.host.services;
  const container = `anchors-${randomUUID().slice(0, 8)}`;
  await blobs.getContainerClient(container).create();
  Object.assign(t.host.services, { anchors: new AnchorLog(blobs, { container }) });
}
