import { randomUUID } from 'node:crypto';
import type { ConsentRegister } from '../policy/consent-register.js';
import type { Store } from '../store/database.js';

export interface ConsentRecord {
  consentId: string;
  subjectKey: string;
  kind: 'consent' | 'opt-out';
  purposeId: string | null;
  recordedAt: string;
  withdrawnAt: string | null;
}

export interface RecordedBy {
  partyId: string;
  clientId: string;
}

/**
 * The consent and opt-out register on the store. State is derived from the event history at
 * the moment asked, so a withdrawal takes effect on the very next request.
 */
export class StoreConsentRegister implements ConsentRegister {
  constructor(private readonly store: Store) {}

  async currentConsent(subjectKey: string, purposeId: string, at: Date): Promise<boolean> {
    return (await this.active(subjectKey, 'consent', at)).some((c) => c.purposeId === purposeId);
  }

  async isOptedOut(subjectKey: string, at: Date): Promise<boolean> {
    return (await this.active(subjectKey, 'opt-out', at)).length > 0;
  }

  async record(input: {
    subjectKey: string;
    kind: 'consent' | 'opt-out';
    purposeId: string | null;
    evidenceRef: string | null;
    by: RecordedBy;
    at: Date;
  }): Promise<ConsentRecord> {
    const consentId = randomUUID();
    const at = input.at.toISOString();
    await this.store.db
      .insertInto('consent_event')
      .values({
        event_id: randomUUID(),
        consent_id: consentId,
        subject_key: input.subjectKey,
        kind: input.kind,
        purpose_id: input.purposeId,
        action: 'record',
        party_id: input.by.partyId,
        client_id: input.by.clientId,
        evidence_ref: input.evidenceRef,
        at,
      })
      .execute();
    return {
      consentId,
      subjectKey: input.subjectKey,
      kind: input.kind,
      purposeId: input.purposeId,
      recordedAt: at,
      withdrawnAt: null,
    };
  }

  /** Undefined when no such consent exists; a second withdrawal changes nothing. */
  async withdraw(consentId: string, by: RecordedBy, at: Date): Promise<ConsentRecord | undefined> {
    const current = await this.find(consentId);
    if (!current || current.withdrawnAt) return current;
    const when = at.toISOString();
    await this.store.db
      .insertInto('consent_event')
      .values({
        event_id: randomUUID(),
        consent_id: consentId,
        subject_key: current.subjectKey,
        kind: current.kind,
        purpose_id: current.purposeId,
        action: 'withdraw',
        party_id: by.partyId,
        client_id: by.clientId,
        evidence_ref: null,
        at: when,
      })
      .execute();
    return { ...current, withdrawnAt: when };
  }

  async find(consentId: string): Promise<ConsentRecord | undefined> {
    const events = await this.store.db
      .selectFrom('consent_event')
      .selectAll()
      .where('consent_id', '=', consentId)
      .orderBy('at')
      .execute();
    return fold(events)[0];
  }

  private async active(subjectKey: string, kind: 'consent' | 'opt-out', at: Date): Promise<ConsentRecord[]> {
    const events = await this.store.db
      .selectFrom('consent_event')
      .selectAll()
      .where('subject_key', '=', subjectKey)
      .where('kind', '=', kind)
      .where('at', '<=', at.toISOString())
      .orderBy('at')
      .execute();
    return fold(events).filter((c) => c.withdrawnAt === null);
  }
}

function fold(
  events: readonly {
    consent_id: string;
    subject_key: string;
    kind: 'consent' | 'opt-out';
    purpose_id: string | null;
    action: string;
    at: string;
  }[],
): ConsentRecord[] {
  const byId = new Map<string, ConsentRecord>();
  for (const e of events) {
    if (e.action === 'record') {
      byId.set(e.consent_id, {
        consentId: e.consent_id,
        subjectKey: e.subject_key,
        kind: e.kind,
        purposeId: e.purpose_id,
        recordedAt: e.at,
        withdrawnAt: null,
      });
    } else {
      const c = byId.get(e.consent_id);
      if (c && !c.withdrawnAt) c.withdrawnAt = e.at;
    }
  }
  return [...byId.values()];
}
