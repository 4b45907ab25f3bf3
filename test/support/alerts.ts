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
