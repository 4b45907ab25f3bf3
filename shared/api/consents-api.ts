import { z } from 'zod';
import type { AgreementSet } from '../agreements/agreement-set.js';
import { decide } from '../policy/decide.js';
import { json, problem, type HttpResult } from '../http/problem.js';
import { subjectRefWithin } from '../audit/entry-subjects.js';
import {
  ConsentSubjectRelinkedError,
  type ConsentRecord,
  type KeptKey,
  type RecordedConsent,
} from '../consents/store-consent-register.js';
import type { Pseudonymiser, PseudonymKind } from '../domain/pseudonymise.js';
import { namesKeysOf } from '../consents/opt-out-names-key.js';
import { uuidV7 } from '../imports/record-ids.js';
import {
  containsDate,
  containsIdValue,
  containsNationalIdentifier,
  containsPostcode,
  validatePostcode,
} from '../domain/identifiers.js';
import { normaliseDate, normaliseName } from '../domain/normalise.js';
import { everyMatch, holdsGivenName } from '../people/find-person.js';
import { identifierUseOf } from '../people/lookup-identifiers.js';
import { datasetOfPerson, purposeOfOptOutRecording } from '../people/person-agreement.js';
import { sourcesHoldingNow } from '../people/person-view.js';
import { canonicalQuery, personQuerySchema, type CanonicalQuery } from '../people/person-query.js';
import type { ApiContext } from './api-context.js';
import type { ApiRequest } from './api-request.js';
import { decisionProblem } from './decision-problem.js';
import { isoTime } from './iso-time.js';
import { readJsonBody } from './json-body.js';
import { answerSettled } from './settled-answer.js';
import { servedPath } from './served-path.js';
import { deny, runRequest, type CallContext, type Outcome } from './request-pipeline.js';

export const consentBodySchema = z
  .strictObject({
    kind: z
      .enum(['consent', 'opt-out'])
      .default('consent')
      .describe('A consent for the X-Purpose purpose, or a national data opt-out'),
    subject: personQuerySchema,
    evidenceRef: z
      .string()
      .regex(/^[A-Za-z0-9._:/-]{1,200}$/)
      // The consent table keeps it for good and no erasure reaches it: an identifier there would
      // be personal data outside every pseudonym. Refused as a schema issue, which never echoes it.
      .refine((value) => !containsNationalIdentifier(value), { message: 'must not hold an identifier' })
      .describe(
        "Reference to the signed form or case note in the recording party's own system; no personal data (a value holding a valid NHS number, UPN or NI number, or the subject's own system id, date of birth, postcode, or a name or part of one of four letters or more, as given in `subject`, is refused)",
      ),
  })
  // The subject's own case reference or date of birth there is as lasting as an NHS number: an
  // officer filing the form under the case it belongs to had put it in the register for good
  // (found by a defect hunt). So are their names and home postcode, which a form filed as
  // "consent/quayle" or "form-dy14qz" had kept (found by another). Refused as a schema issue on
  // `evidenceRef`, which never echoes it.
  .superRefine((body, ctx) => {
    const { systemId, dateOfBirth, givenName, familyName, postcode } = body.subject;
    const date = dateOfBirth === undefined ? undefined : normaliseDate(dateOfBirth);
    const code = postcode === undefined ? undefined : validatePostcode(postcode);
    const names = [givenName, familyName].flatMap((name) => (name === undefined ? [] : nameForms(name)));
    const holds =
      (systemId !== undefined && containsIdValue(body.evidenceRef, systemId.id)) ||
      (date?.ok === true && containsDate(body.evidenceRef, date.value)) ||
      (code?.ok === true && containsPostcode(body.evidenceRef, code.value)) ||
      names.some((form) => containsIdValue(body.evidenceRef, form));
    if (holds)
      ctx.addIssue({ code: 'custom', path: ['evidenceRef'], message: "must not hold the subject's identifiers" });
  });

/**
 * The forms a name may be filed under in a reference, whose characters hold no space or
 * apostrophe: each run of its parts written together ("O'Hara-Quayle": OHARAQUAYLE, OHARA, HARA,
 * QUAYLE, ...). containsIdValue passes over those of fewer than four letters, too short to tell
 * from an ordinary reference's parts.
 */
function nameForms(name: string): string[] {
  const parts = normaliseName(name)
    .split(/[^0-9A-Z]+/)
    .filter((part) => part !== '');
  const forms: string[] = [];
  for (let first = 0; first < parts.length; first++)
    for (let last = first + 1; last <= parts.length; last++) forms.push(parts.slice(first, last).join(''));
  return forms;
}

export const consentResponseSchema = z.object({
  consentId: z.string(),
  kind: z.enum(['consent', 'opt-out']),
  purpose: z.string().nullable(),
  recordedAt: isoTime,
  withdrawnAt: isoTime.nullable(),
  detachedAt: isoTime
    .nullable()
    .describe(
      'When a linking pass that split the person it was held for detached it: not withdrawn, but in force for no one, so it must be recorded again against the person as now found; null otherwise',
    ),
  reachesNoOne: z
    .boolean()
    .describe(
      "True when the consent reaches no one now: a split detached it (`detachedAt`), or no current source's record of the datasets its purpose covers holds the person it was given for any more (left out of a snapshot, its source no longer listed by a re-signed agreement, deleted by retention, or given a new person id at a load, as one who returns in a later snapshot is), so every lookup under it is refused for want of it; while not withdrawn, it must be recorded again against the person as now found. Decided when read, from the records held now: no time is kept of when their records went. Always false for an opt-out, which holds the person's data back by their keys kept whoever holds them",
    ),
});

/**
 * Who may record or withdraw, decided by the policy from the agreements alone: for a consent,
 * the purpose's consent source (party and roles) records it, and the party that recorded it
 * withdraws it, with any role it holds in the agreement, however the source has been re-signed
 * since (decide.ts, `consent-withdraw`); for an opt-out, a DPO of a party to the purpose's agreement,
 * where the opt-out applies. Consent writes go through the same request path and leave one
 * access-log entry each.
 */
function mayWrite(
  ctx: ApiContext,
  call: CallContext,
  kind: 'consent' | 'opt-out',
  write: 'record' | 'withdraw',
  subjectAgreementId?: string,
) {
  return decide(
    {
      caller: call.caller,
      purpose: call.purpose,
      datasets: [],
      subject: null,
      action:
        kind === 'opt-out'
          ? write === 'record'
            ? 'opt-out-write'
            : 'opt-out-withdraw'
          : write === 'record'
            ? 'consent-write'
            : 'consent-withdraw',
      subjectAgreementId,
    },
    { agreements: ctx.services.agreements, consents: ctx.services.consents, now: ctx.now },
  );
}

/** POST /api/v1/consents */
export function recordConsent(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'consent.record', async (call) => {
    // Decided before the body is read, as a search's lookup is: a caller who may record nothing
    // under the X-Purpose is answered alike whatever it sends, and learns nothing from the
    // body's validation (found over HTTP by a review: it was answered 400 schema errors about
    // its body, not 403). The body says which kind it records, so what the headers decide first
    // is whether the caller may record either kind; the kind it sends is decided once read. A
    // missing or unknown X-Purpose is the policy's to answer too, with its detail, as a search's.
    const consentDecision = await mayWrite(ctx, call, 'consent', 'record');
    const optOutDecision = await mayWrite(ctx, call, 'opt-out', 'record');
    if (!consentDecision.allow && !optOutDecision.allow) {
      const refusal = takesOptOuts(ctx, consentDecision.purpose) ? optOutDecision : consentDecision;
      return deny(decisionProblem(refusal), refusal.reason, { purpose: refusal.purpose });
    }
    const body = await readJsonBody(req, consentBodySchema);
    // The caller may record under the purpose, which either decision names.
    if (!body.ok) return deny(body.result, body.reason, { purpose: consentDecision.purpose });
    // Decided before matching: a caller who may not write here learns nothing about the person.
    const decision = body.value.kind === 'opt-out' ? optOutDecision : consentDecision;
    if (!decision.allow) return deny(decisionProblem(decision), decision.reason, { purpose: decision.purpose });
    // Allowed, a write is decided under a purpose an agreement defines (decide.ts).
    const purposeId = decision.purpose!;
    const query = canonicalQuery(body.value.subject, ctx.now());
    if (!query.ok) {
      return deny(
        problem('invalid-identifier', {
          field: `subject.${query.field}`,
          reason: query.reason,
        }),
        'invalid-identifier',
        { purpose: purposeId },
      );
    }
    const datasets = purposeDatasets(ctx.services.agreements, purposeId);
    return answerSettled(ctx, async (settledSince) => {
      // Every key version the store holds now, for the match as for everyone below: an opt-out
      // must not go to one person while the identifiers also name another held under a key
      // rotated in since the versions were last read. Checked once, here (none for names and a
      // date of birth alone, which hash nothing; any identifier given still fails closed, 503,
      // then).
      const pseudonymisers = await ctx.currentPseudonymisers(query.query);
      const optOut = body.value.kind === 'opt-out';
      // What an opt-out keeps for nobody held: its identifiers' hashes, or by names alone (no
      // identifier any dataset matches on) their names key under the current key and every
      // version one is kept under (namesKeysToKeep). Read before the lookup, whoever it finds:
      // read only for nobody held, a key that cannot be read answered 503 for nobody and 201 for
      // someone held.
      const keys = optOut && pseudonymisers.length > 0 ? keysToKeep(ctx, query.query, datasets, pseudonymisers) : [];
      const unheldKeys =
        optOut && keys.length === 0
          ? namesKeysToKeep(query.query, datasets, await ctx.currentPseudonymiser(), await ctx.namesKeyPseudonymisers())
          : keys;
      // Nothing is shown, and a contradiction is answered by the rules below: the date of birth
      // refuses the postcode step's person alone (find-person.ts DateOfBirthCheck).
      const found = await ctx.findPerson(query.query, datasets, undefined, pseudonymisers, 'postcode-step');
      // A lookup stops at the first tier that finds someone; a consent is one person's say, so
      // identifiers that also reach someone else (an NHS number one child's, a system id
      // another's) record nothing: the one who gave it may be the other (from a review).
      const everyone =
        found.found || (optOut && found.reason !== 'no-match')
          ? await everyMatch(
              ctx.services.store,
              pseudonymisers,
              query.query,
              datasets,
              identifierUseOf(ctx.services.agreements),
            )
          : [];
      const unsettled = !found.found || everyone.some((match) => match.personId !== found.personId);
      // An opt-out only holds data back, and its refusal told the recorder, a DPO of any party,
      // whether the partnership holds the person (found by a defect hunt): 404 for someone not
      // held, and for identifiers that reach several people or someone they contradict, 409 or
      // 404 where they reach someone held. So it fails closed, answered as for one held: where
      // the identifiers reach several people, or one they contradict, it is recorded for everyone
      // matched; where they reach nobody, it is kept against their hashes, to reach their records
      // should they arrive. Names and a date of birth (or postcode) alone that reach nobody are
      // recorded too, against their names key hashed (namesKeysToKeep), which reaches no record
      // that arrives later: a 404 told any party's DPO that nobody is held (found by a review).
      // Identifiers of an unsettled request that nobody holds are kept too: the record that
      // arrives under one later may be the objector's, or another's the opt-out names.
      const forEach =
        optOut && unsettled && (found.found || found.reason === 'ambiguous' || everyone.some((m) => m.tier <= 2))
          ? everyone.map((match) => match.personId)
          : [];
      if (forEach.length > 0) {
        try {
          return await call.writeAhead(async (db) => {
            const record = await ctx.services.consents.recordForEach(
              {
                subjectKeys: forEach,
                keep: { personId: uuidV7(), keys },
                evidenceRef: body.value.evidenceRef,
                by: { partyId: call.caller.partyId, clientId: call.caller.clientId },
                at: ctx.now(),
                settledSince,
              },
              db,
            );
            return recorded(record, purposeId, subjectsOf(ctx, call, record.subjectKeys));
          });
        } catch (err) {
          if (!(err instanceof ConsentSubjectRelinkedError)) throw err;
          return {
            movedOut: err.movedOut ?? settledSince,
            log: { purpose: purposeId, subjectRef: subjectsOf(ctx, call, forEach) },
          };
        }
      }
      if (!found.found && unheldKeys.length > 0) {
        try {
          return await call.writeAhead(async (db) => {
            const record = await ctx.services.consents.recordUnheld(
              {
                personId: uuidV7(),
                keys: unheldKeys,
                evidenceRef: body.value.evidenceRef,
                by: { partyId: call.caller.partyId, clientId: call.caller.clientId },
                at: ctx.now(),
              },
              db,
            );
            return recorded(record, purposeId);
          });
        } catch (err) {
          if (!(err instanceof ConsentSubjectRelinkedError)) throw err;
          // Their record was placed since the lookup: looked up again, and found this time.
          return { movedOut: settledSince, log: { purpose: purposeId } };
        }
      }
      if (!found.found) {
        return deny(problem('no-match'), found.reason, { purpose: purposeId });
      }
      // A consent releases data: found by names, the person must hold the given name sent, not
      // only its first three letters (find-person.ts, holdsGivenName). An opt-out holds data back
      // and goes to whoever the identifiers reach.
      const givenName = body.value.subject.givenName;
      if (
        !optOut &&
        found.tier >= 3 &&
        givenName !== undefined &&
        !(await holdsGivenName(ctx.services.store, found.personId, datasets, givenName))
      ) {
        return deny(
          problem('no-match', {
            detail:
              'Nobody held under these identifiers has the given name sent; send an identifier their records hold.',
          }),
          'given-name-differs',
          { purpose: purposeId },
        );
      }
      if (unsettled) {
        return deny(
          problem('ambiguous-match', {
            detail: 'The identifiers reach more than one person; send only those of the person it is from.',
          }),
          'ambiguous',
          { purpose: purposeId },
        );
      }
      try {
        // The consent and its access-log entry commit together, or neither does.
        return await call.writeAhead(async (db) => {
          const record = await ctx.services.consents.record(
            {
              subjectKey: found.personId,
              kind: body.value.kind,
              purposeId: body.value.kind === 'consent' ? purposeId : null,
              evidenceRef: body.value.evidenceRef,
              by: { partyId: call.caller.partyId, clientId: call.caller.clientId },
              at: ctx.now(),
              settledSince,
            },
            db,
          );
          return recorded(record, purposeId, found.personId);
        });
      } catch (err) {
        if (!(err instanceof ConsentSubjectRelinkedError)) throw err;
        // Moved, or removed (a new snapshot, retention: no move), between the lookup and the
        // write, which rolled back with no entry: looked up again on the records there are now.
        return {
          movedOut: err.movedOut ?? settledSince,
          log: { purpose: purposeId, subjectRef: found.personId },
        };
      }
    });
  });
}

/**
 * Whether a caller who may record neither kind under `purposeId` is refused as for an opt-out:
 * where the purpose takes opt-outs and no consents (`service-planning`). Where it takes
 * consents, or neither, the refusal is a consent's, the kind a body names by default. So the
 * answer hangs on the agreement alone, never on the body.
 */
function takesOptOuts(ctx: ApiContext, purposeId: string | null): boolean {
  const purpose = purposeId === null ? undefined : ctx.services.agreements.purpose(purposeId)?.purpose;
  return purpose !== undefined && !purpose.consentRequired && purpose.nationalDataOptOutApplies;
}

/**
 * The answer and access-log entry of a consent or opt-out recorded, or found in force: one
 * already in force from this party is answered, not recorded again (see RecordedConsent).
 */
function recorded(record: RecordedConsent, purposeId: string, subjectRef: string | null = record.subjectKey) {
  const body = {
    consentId: record.consentId,
    kind: record.kind,
    purpose: record.purposeId,
    recordedAt: record.recordedAt,
    withdrawnAt: null,
    detachedAt: null,
    // Recorded for, or found in force for, a person a record of the purpose's datasets holds.
    reachesNoOne: false,
  };
  return {
    result: record.alreadyInForce
      ? json(200, body)
      : json(201, body, { location: servedPath(`v1/consents/${record.consentId}`) }),
    log: {
      purpose: purposeId,
      subjectRef,
      decision: 'allow' as const,
      reasonCode: record.alreadyInForce ? `${record.kind}-already-recorded` : `${record.kind}-recorded`,
    },
  };
}

/**
 * An entry's subject for an opt-out recorded for several people: as many as the column holds,
 * and in the app log how many were left off (a count, no ids).
 */
function subjectsOf(ctx: ApiContext, call: CallContext, personIds: readonly string[]) {
  const { subjectRef, leftOff } = subjectRefWithin(personIds);
  if (leftOff > 0) ctx.services.logger.warn('consent.record-subjects-left-off', { requestId: call.requestId, leftOff });
  return subjectRef;
}

/**
 * The caller's identifiers as the datasets' records would hold them: hashed under the current
 * key (the first), as an import hashes them, each in every dataset whose agreement matches on its
 * kind; and under every version, as the lookup matched them, to tell which ones a record holds.
 */
function keysToKeep(
  ctx: ApiContext,
  query: CanonicalQuery,
  datasets: readonly string[],
  pseudonymisers: readonly Pseudonymiser[],
): KeptKey[] {
  const use = identifierUseOf(ctx.services.agreements);
  const keyVersion = pseudonymisers[0]!.keyVersion;
  return query.identifiers.flatMap((i) => {
    const hashes = pseudonymisers.map((p) => p.hash(i.kind as PseudonymKind, i.value));
    const hash = hashes[0]!;
    return datasets
      .filter((d) => use(d, i.kind))
      .map((datasetId) => ({ datasetId, kind: i.kind, hash, keyVersion, hashes }));
  });
}

/**
 * The keys of an opt-out by names alone (no identifier any dataset matches on) that reach nobody:
 * their names key (opt-out-names-key.ts) as a keyed hash under the current key, never the names,
 * in every dataset of the purpose; and under every version one is kept under, to meet the same
 * opt-out recorded before a rotation (StoreConsentRegister.recordUnheld). They reach no one who
 * arrives later (opt-out-kept-keys.ts compares an arrival's names and date of birth as the
 * store holds them, not hashed); they are kept so the same party recording it again is answered
 * 200 with the opt-out in force, as for someone held, and they end with its withdrawal.
 */
function namesKeysToKeep(
  query: CanonicalQuery,
  datasets: readonly string[],
  current: Pseudonymiser,
  kept: readonly Pseudonymiser[],
): KeptKey[] {
  const pseudonymisers = [current, ...kept.filter((p) => p.keyVersion !== current.keyVersion)];
  return namesKeysOf(query).flatMap(({ kind, value }) => {
    const hashes = pseudonymisers.map((p) => p.hash(kind, value));
    const hash = hashes[0]!;
    return datasets.map((datasetId) => ({ datasetId, kind, hash, keyVersion: current.keyVersion, hashes }));
  });
}

/**
 * A consent or opt-out asked about by its id, withdrawn or read, and whether the caller may:
 * refused, the outcome to answer and log; allowed, the consent with what its entry is filed under.
 * Reading is decided as withdrawing is (the `consent-withdraw` or `opt-out-withdraw` decision):
 * the party that recorded it, with the roles that may end it, which include those that recorded
 * it, asks whether it is in force before it ends it; no agreement grants reading of its own.
 */
type ConsentAskedAbout =
  | { allowed: false; refused: Outcome }
  | {
      allowed: true;
      consentId: string;
      consent: ConsentRecord;
      /** The entry's purpose, datasets and subject for an allowed call (`subjectsOf`). */
      purpose: string | null;
      filedBy: { datasets?: readonly string[] };
      subjectsOf: (consent: { subjectKeys: readonly string[] }) => string | null;
    };

/**
 * The checks every call about one consent makes before it is answered, as the withdrawal's;
 * `use` names the call in the app log's count of subjects left off an entry.
 */
async function consentAskedAbout(
  ctx: ApiContext,
  req: ApiRequest,
  call: CallContext,
  use: 'withdraw' | 'view',
): Promise<ConsentAskedAbout> {
  // A UUID is the same id in either case (RFC 9562); ids are issued and stored in lower case.
  const consentId = (req.params.consentId ?? '').toLowerCase();
  const existing = /^[0-9a-f-]{36}$/.test(consentId) ? await ctx.services.consents.find(consentId) : undefined;
  // Only the party that recorded a consent or opt-out withdraws or reads it; to anyone else it is unknown.
  if (!existing || existing.recordedBy !== call.caller.partyId) {
    return { allowed: false, refused: deny(problem('consent-unknown'), 'consent-unknown') };
  }
  // The entry is filed under the consent's own agreement: one that names no dataset goes by its
  // purpose (audit/dpo-views.ts). A consent names its purpose. An opt-out names none, and is
  // decided under the X-Purpose sent, which must then be a purpose of the agreement its person
  // is a person of: a party to two agreements withdrew one agreement's opt-out under the
  // other's purpose, decided on its roles there and filed with a reference to the person for
  // that agreement's DPOs, none for the opt-out's own (found by a review).
  // A dataset a re-signing dropped is still its last agreement's (datasetOfPerson): read as no
  // agreement's, it left the X-Purpose alone to decide again (found by a review). So is one an
  // operator then purged, by the purge's own entry about the person: the purge takes the kept
  // keys that said where an opted-out person was held (found by a review).
  const { agreements } = ctx.services;
  const named = call.purpose === undefined ? undefined : agreements.purpose(call.purpose)?.agreementId;
  const held = await datasetOfPerson(ctx.services.store, agreements, existing.subjectKey);
  // Where nothing says where an opt-out's person was held, the call that recorded it does: a
  // purge of a dataset a snapshot had already dropped them from leaves nothing else (found by a
  // review). Withdrawing it opens the person's records to processing again: never by the
  // X-Purpose alone where anything tells the agreement it belongs to.
  const recorded =
    existing.kind === 'opt-out' && held === undefined
      ? await purposeOfOptOutRecording(ctx.services.store, agreements, existing)
      : undefined;
  const own = existing.kind === 'opt-out' ? (held?.agreementId ?? recorded?.agreementId) : undefined;
  const notFound = problem('consent-unknown');
  // The people a consent applies to, as many as an entry's subject holds; a split into more
  // than ten parts names the first ten (entry-subjects.ts), and says so in the app log (a
  // count, no ids).
  const subjectsOf = (consent: { subjectKeys: readonly string[] }) => {
    const { subjectRef, leftOff } = subjectRefWithin(consent.subjectKeys);
    if (leftOff > 0)
      ctx.services.logger.warn(`consent.${use}-subjects-left-off`, { requestId: call.requestId, leftOff });
    return subjectRef;
  };
  // Any refusal, whatever its reason (another agreement's X-Purpose, none for an opt-out), is
  // answered as an unknown id: a distinct answer would tell a caller without the right that the
  // id exists. The access log keeps the real reason and names the person, filed under the
  // dataset the person is held in, so the DPOs of the consent's agreement find the attempt in
  // the person's answer and the client's activity, and no other agreement's DPO gets a
  // reference to them. Filed by the X-Purpose alone, an opt-out's refusal under another
  // agreement's purpose, or under none, had named no one (found by a review). Where nothing
  // says where the person was held (an id merged away, none deleted), it goes by purpose as
  // before: the consent's own, or the one an opt-out was recorded under, or an X-Purpose some
  // agreement knows, with the person (each of them, for an opt-out a split left with several: a
  // DPO following the second one's reference did not see the refusal, found by a defect hunt);
  // else by the party alone, naming no one.
  const refusal = (reason: string) => {
    const filedUnder = existing.purposeId ?? recorded?.purposeId ?? (named === undefined ? undefined : call.purpose);
    const purpose = existing.purposeId === null ? {} : { purpose: existing.purposeId };
    if (held !== undefined)
      return deny(notFound, reason, { ...purpose, subjectRef: subjectsOf(existing), datasets: [held.datasetId] });
    return deny(
      notFound,
      reason,
      filedUnder === undefined ? {} : { purpose: filedUnder, subjectRef: subjectsOf(existing) },
    );
  };
  if (own !== undefined && named !== undefined && named !== own)
    return { allowed: false, refused: refusal('purpose-not-permitted') };
  const asCall = { ...call, purpose: existing.purposeId ?? call.purpose };
  // A consent whose purpose no agreement defines any more is decided under the agreement its
  // person is held in (decide.ts; for a dataset the same re-signing dropped, the one that last
  // defined it), and its entry filed there by the person's dataset: by its purpose alone it
  // would be every agreement's the party signed, with the person named. Where nothing says where
  // the person was held — their records gone from every snapshot — it is decided under the
  // agreement the store remembers the purpose was (agreements/remembered-agreements.ts), and its
  // entry, by that purpose, is filed there too. Refused `purpose-unknown` instead, the consent
  // stayed in force with no one able to withdraw it (found by a review).
  const purposeRemoved =
    existing.kind === 'consent' && existing.purposeId !== null && !agreements.purpose(existing.purposeId);
  // An opt-out whose agreement ended (its file removed) is decided under that agreement, where
  // the X-Purpose is one it last defined: no agreement defines one now (decide.ts).
  const optOutAgreementEnded =
    own !== undefined &&
    call.purpose !== undefined &&
    agreements.agreement(own) === undefined &&
    agreements.formerAgreementOfPurpose(call.purpose) === own;
  const decision = await mayWrite(
    ctx,
    asCall,
    existing.kind,
    'withdraw',
    purposeRemoved
      ? (held?.agreementId ?? agreements.formerAgreementOfPurpose(existing.purposeId!))
      : optOutAgreementEnded
        ? own
        : undefined,
  );
  if (!decision.allow) return { allowed: false, refused: refusal(decision.reason) };
  return {
    allowed: true,
    consentId,
    consent: existing,
    // An ended agreement's purpose, which no agreement defines now, is one the store
    // remembers, not arbitrary header text: logged, the entry is filed under it.
    purpose: existing.purposeId ?? (optOutAgreementEnded ? (call.purpose ?? null) : null),
    filedBy: purposeRemoved && held !== undefined ? { datasets: [held.datasetId] } : {},
    subjectsOf,
  };
}

/** The datasets a purpose's grants cover: those a consent under it is recorded and read back against. */
function purposeDatasets(agreements: Pick<AgreementSet, 'grantsFor'>, purposeId: string): string[] {
  return [...new Set(agreements.grantsFor(purposeId).map((g) => g.dataset))];
}

/**
 * Whether a consent reaches no one now: a split detached it, or no record of the datasets its
 * purpose covers holds any person id it is in force for. A participant left out of a snapshot,
 * deleted by retention, or given a new id at a load (one back after a snapshot left them out,
 * a corrected identifier) keeps no consent, and ICF's lookups are refused; read back as in force,
 * Dudley's officer had no way to see it must be recorded again (found by a defect hunt).
 * Decided at read time from the records held, as a lookup decides: the datasets are those the
 * recording searched, so the answer tells the recording party nothing its recording again would
 * not, and nothing of datasets outside the purpose. Only a current source's record counts, as a
 * lookup counts it (sourcesHoldingNow): a record of a party a re-signing no longer lists as a
 * source of the dataset is passed over by ICF's lookups, and counted here it read back as
 * reaching someone (found by a defect hunt). A purpose no agreement defines now releases nothing
 * to anyone; its consent is asked only whether any record holds its person still (it would
 * release again were the purpose restored). An opt-out never: kept by its person's keys,
 * it holds back the records of whoever arrives under them, and telling a DPO of any party whether
 * anyone holds its person would tell it of the other parties' records.
 */
async function consentReachesNoOne(ctx: ApiContext, consent: ConsentRecord): Promise<boolean> {
  if (consent.kind === 'opt-out') return false;
  if (consent.detachedAt !== null) return true;
  const { agreements, consents, store } = ctx.services;
  if (consent.purposeId === null || agreements.purpose(consent.purposeId) === undefined)
    return !(await consents.holdsAnyOf(consent.subjectKeys));
  const datasets = purposeDatasets(agreements, consent.purposeId);
  for (const personId of consent.subjectKeys) {
    if ((await sourcesHoldingNow(store, agreements, personId, datasets)).length > 0) return false;
  }
  return true;
}

/** The answer about a consent: the Consent schema, as recorded and, if so, as withdrawn, detached or reaching no one. */
function consentAnswer(consent: ConsentRecord, withdrawnAt: string | null, reachesNoOne: boolean) {
  return {
    consentId: consent.consentId,
    kind: consent.kind,
    purpose: consent.purposeId,
    recordedAt: consent.recordedAt,
    withdrawnAt,
    detachedAt: consent.detachedAt,
    reachesNoOne,
  };
}

/** GET /api/v1/consents/{consentId}: whether it is in force, or when it was withdrawn or detached. */
export function viewConsent(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'consent.view', async (call) => {
    const asked = await consentAskedAbout(ctx, req, call, 'view');
    if (!asked.allowed) return asked.refused;
    const { consent } = asked;
    return {
      result: json(200, consentAnswer(consent, consent.withdrawnAt, await consentReachesNoOne(ctx, consent))),
      // Named as a withdrawal's entry is: a subject access request shows who asked about it.
      log: {
        purpose: asked.purpose,
        subjectRef: asked.subjectsOf(consent),
        decision: 'allow',
        reasonCode: `${consent.kind}-shown`,
        ...asked.filedBy,
      },
    };
  });
}

/** DELETE /api/v1/consents/{consentId} */
export function withdrawConsent(ctx: ApiContext, req: ApiRequest): Promise<HttpResult> {
  return runRequest(ctx, req, 'consent.withdraw', async (call) => {
    const asked = await consentAskedAbout(ctx, req, call, 'withdraw');
    if (!asked.allowed) return asked.refused;
    const { consentId, consent: existing } = asked;
    // Read before the write, outside its transaction: a withdrawal moves no record.
    const reachingNoOne = await consentReachesNoOne(ctx, existing);
    return call.writeAhead(async (db) => {
      // Decided inside the write, under the consent's lock: a second withdrawal (or one racing
      // this) changes nothing and is logged as such, so the log shows one withdrawal per consent.
      const withdrawn = await ctx.services.consents.withdraw(
        consentId,
        { partyId: call.caller.partyId, clientId: call.caller.clientId },
        ctx.now(),
        db,
      );
      const already = withdrawn !== undefined && !withdrawn.withdrawnNow;
      return {
        result: json(200, consentAnswer(existing, withdrawn?.withdrawnAt ?? null, reachingNoOne)),
        log: {
          purpose: asked.purpose,
          // Whom the write found it held by, not the read before it: a linking pass may have
          // merged the person into another id since, and a subject access request follows an
          // id that gave way only up to its move, so the entry under it was lost to the person's
          // own answer (found by a defect hunt). Each of them where a split left it with several
          // people: it ended for every one (ConsentRecord.subjectKeys).
          subjectRef: asked.subjectsOf(withdrawn ?? existing),
          decision: 'allow',
          reasonCode: already ? 'already-withdrawn' : `${existing.kind}-withdrawn`,
          ...asked.filedBy,
        },
      };
    });
  });
}
