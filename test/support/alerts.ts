import type { Insertable } from 'kysely';
import type { Database } from '../../shared/store/schema.js';
import { clientIdOf } from './test-host.js';

type AlertRow = Insertable<Database['audit_alert']>;

/**
 * An alert a watch rule raised at `at` about the Keyways provider's client (a run of lookups that
 * found nobody, one hour's window), as the rules write it: for tests of what a DPO does with
 * one (breach records, paging), without raising it through the rules.
 */
export function providerAlert(id: string, at: string, more: Partial<AlertRow> = {}): AlertRow {
  return {
    id,
    rule: 'no-match-run',
    client_id: clientIdOf('keyways-registered-providers'),
    party_id: 'keyways-registered-providers',
    role: null,
    window_start: at,
    window_end: at,
    count: 10,
    baseline: null,
    raised_at: at,
    status: 'open',
    ...more,
  };
}

/**
 * A breach record a Kettering DPO opened from alert `alertId` at `openedAt`, as openBreach wrote it
 * before partners' deadlines were kept (no `partners_deadline`): the ICO's 72 hours from then.
 */
export function openedBreach(id: string, alertId: string, openedAt: Date): Insertable<Database['breach_record']> {
  return {
    id,
    alert_id: alertId,
    opened_at: openedAt.toISOString(),
    opened_by: clientIdOf('kettering-borough-council'),
    ico_deadline: new Date(openedAt.getTime() + 72 * 3_600_000).toISOString(),
    status: 'open',
  };
}
