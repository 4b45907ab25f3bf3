/**
 * Which party a caller is. Agreement files name parties, not credentials: the mapping from an
 * Entra ID client id (the token's `azp`/`appid`) to a party id is configuration, the
 * `PARTY_CLIENT_IDS` setting, so a partner's app registration can change without a change to
 * the agreement a DPO signed off.
 */
import { z } from 'zod';
import type { AgreementSet } from './agreement-set.js';
import { JSON_STRING } from '../json-strings.js';

/** `PARTY_CLIENT_IDS`: a JSON object mapping client id -> party id. */
export const PartyClientIdsSchema = z.record(
  z.string().trim().min(1, 'client id must not be empty'),
  z.string().min(1, 'party id must not be empty'),
);

export type PartyClientIds = z.infer<typeof PartyClientIdsSchema>;

export class PartyDirectoryError extends Error {
  constructor(message: string) {
    super(`PARTY_CLIENT_IDS: ${message}`);
    this.name = 'PartyDirectoryError';
  }
}

export interface PartyDirectory {
  /** The party a client id belongs to, or undefined when it is not mapped. */
  partyIdFor(clientId: string): string | undefined;
  /** The client ids mapped to a party (for the DPO's view of who can call as that party). */
  clientIdsFor(partyId: string): readonly string[];
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Entra ID writes GUIDs in either case; any other client id is compared exactly (trimmed). */
export function normaliseClientId(clientId: string): string {
  const trimmed = clientId.trim();
  return GUID.test(trimmed) ? trimmed.toLowerCase() : trimmed;
}

/**
 * Parses the `PARTY_CLIENT_IDS` setting and checks every party id against the agreements: a party
 * to one loaded, or to one that ended (its file removed) as the store remembers it, whose DPO
 * still answers for its accesses. With `checkParties: false` only the setting's form is checked,
 * as start-up does before it opens the store that knows the ended ones (services.ts).
 * An unset or empty setting gives an empty directory (no caller is recognised). Errors name
 * the offending party id or the problem, never the whole setting.
 */
export function parsePartyDirectory(
  setting: string | undefined,
  agreements: AgreementSet,
  { checkParties = true }: { checkParties?: boolean } = {},
): PartyDirectory {
  if (setting === undefined || setting.trim() === '') return directoryFrom(new Map());
  let raw: unknown;
  try {
    raw = JSON.parse(setting);
  } catch {
    throw new PartyDirectoryError('is not valid JSON; expected an object mapping client id to party id');
  }
  const parsed = PartyClientIdsSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new PartyDirectoryError(`expected an object mapping client id to party id (${first?.message ?? 'invalid'})`);
  }
  const byClientId = new Map<string, string>();
  for (const [clientId, partyId] of entriesAsWritten(setting)) {
    if (checkParties && !agreements.knowsParty(partyId)) {
      throw new PartyDirectoryError(`party '${partyId}' is not a party to any loaded agreement`);
    }
    const key = normaliseClientId(clientId);
    if (byClientId.has(key)) {
      throw new PartyDirectoryError(
        `a client id is listed twice (mapped to '${byClientId.get(key)}' and '${partyId}')`,
      );
    }
    byClientId.set(key, partyId);
  }
  return directoryFrom(byClientId);
}

/**
 * The entries of a setting the schema took (one object of strings) as written, a client id given
 * twice twice: JSON.parse keeps the last of a name given twice, so a line copied for a new party
 * with its client id left unchanged moved the partner's client to the new party, with nothing
 * said (found by a defect hunt). Such an object's strings are name, value, name, value.
 */
function entriesAsWritten(setting: string): [string, string][] {
  const strings = [...setting.matchAll(JSON_STRING)].map(([, quoted]) => JSON.parse(quoted!) as string);
  const entries: [string, string][] = [];
  for (let i = 0; i + 1 < strings.length; i += 2) entries.push([strings[i]!, strings[i + 1]!]);
  return entries;
}

function directoryFrom(byClientId: ReadonlyMap<string, string>): PartyDirectory {
  return {
    partyIdFor: (clientId) => byClientId.get(normaliseClientId(clientId)),
    clientIdsFor: (partyId) => [...byClientId].filter(([, party]) => party === partyId).map(([clientId]) => clientId),
  };
}

export interface CallerClaims {
  /** The token's `azp` (v2) or `appid` (v1) claim. */
  readonly clientId: string;
  /** The token's `roles` claim. */
  readonly roles: readonly string[];
}

export interface ResolvedCaller {
  readonly partyId: string;
  /**
   * The token's roles that the party holds in some agreement, or held in an ended one or one it
   * was dropped from; others are dropped.
   */
  readonly roles: readonly string[];
}

/**
 * The party a token speaks for, and the roles it may use. Null when the client id is not
 * mapped to a party. A role the token carries but the party does not hold in any agreement is
 * dropped, so a misconfigured app registration cannot widen what a partner sees.
 */
export function resolveCaller(
  claims: CallerClaims,
  directory: PartyDirectory,
  agreements: AgreementSet,
): ResolvedCaller | null {
  const partyId = directory.partyIdFor(claims.clientId);
  if (partyId === undefined) return null;
  const held = rolesHeldBy(agreements, partyId);
  if (held === undefined) return null;
  const roles = [...new Set(claims.roles)].filter((role) => held.has(role));
  return { partyId, roles };
}

/**
 * The roles a party may present ({@link resolveCaller}): those it holds in any agreement, or held
 * in one that ended or one a re-signing dropped it from. Undefined for a party no agreement names
 * or named. Also what `npm run token` mints (scripts/token.ts).
 */
export function rolesHeldBy(agreements: AgreementSet, partyId: string): ReadonlySet<string> | undefined {
  const party = agreements.party(partyId);
  // A role held only in an ended agreement (its file removed) is kept: its DPO still answers for
  // the accesses made under it, and the party still withdraws the consents it recorded there
  // (AgreementSet.formerAgreement), and so is one held in an agreement a re-signing dropped the
  // party from, for the same withdrawals (AgreementSet.rolesOfPartyDroppedFrom). Nothing else is
  // decided on them: the policy counts only the roles a party holds in the agreement it decides
  // under (policy/decide.ts).
  const ended = agreements.formerAgreementsOfParty(partyId);
  const droppedFrom = agreements.agreementsDroppedFrom(partyId);
  if (party === undefined && ended.length === 0 && droppedFrom.length === 0) return undefined;
  return new Set([
    ...(party?.roles ?? []),
    ...ended.flatMap((agreement) => [...agreements.rolesOfPartyInFormer(agreement.id, partyId)]),
    ...droppedFrom.flatMap((agreementId) => [...agreements.rolesOfPartyDroppedFrom(agreementId, partyId)]),
  ]);
}
