import { carryConsentEvents } from '../../shared/consents/carry-consents.js';
import { recordPersonIdMoves } from '../../shared/linkage/person-id-history.js';
import type { Services } from '../../shared/services.js';

/**
 * The race tests' hook: a lookup's reads are each of the committed store at their moment, so a
 * linking pass can commit between the match and the view. These helpers make that happen at one
 * known point, the lookup's consent check, instead of by timing.
 */

/** The register's checks a lookup makes between its match and its view. */
const CONSENT_CHECKS = ['currentConsent', 'isOptedOut'] as const;

type Check = (...args: unknown[]) => Promise<unknown>;

/**
 * Calls `atCheck` when a lookup first reaches its consent check. A promise it returns is waited
 * for before the check reads (a pass committed there is seen by the check); otherwise the check
 * reads at once, as it would have. Call `restore` in a `finally`; `reached` tells whether the
 * check was reached at all, so a test that raced nothing fails.
 */
export function atConsentCheck(
  services: Services,
  atCheck: () => Promise<void> | void,
): { restore: () => void; reached: () => boolean } {
  const register = services.consents as unknown as Record<string, Check>;
  const originals = new Map<string, Check>();
  let fired = false;
  for (const name of CONSENT_CHECKS) {
    const original = register[name]!;
    originals.set(name, original);
    register[name] = (...args: unknown[]) => {
      if (!fired) {
        fired = true;
        const pending = atCheck();
        if (pending) return pending.then(() => original.apply(services.consents, args));
      }
      return original.apply(services.consents, args);
    };
  }
  return {
    restore: () => {
      for (const [name, original] of originals) register[name] = original;
    },
    reached: () => fired,
  };
}

/**
 * What a linking pass commits when it moves one record from person `from` to person `to`: the
 * consents carried as a real pass carries them (`keep`: the ids left holding records), the
 * record's new id, and the move in the person-id history a SAR follows.
 */
export async function commitRecordMove(
  services: Services,
  move: { recordId: string; from: string; to: string; keep: readonly string[] },
): Promise<void> {
  const now = new Date().toISOString();
  const moves = [{ from: move.from, to: move.to }];
  await services.store.db.transaction().execute(async (trx) => {
    await carryConsentEvents(trx, services.store.dialect.engine, moves, new Set(move.keep), now);
    await trx.updateTable('source_record').set({ person_id: move.to }).where('id', '=', move.recordId).execute();
    await recordPersonIdMoves(trx, moves, now);
  });
}
