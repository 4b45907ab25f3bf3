import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { expect } from 'vitest';
import { apiContextFor } from '../../shared/api/api-context.js';
import { carryConsentEvents } from '../../shared/consents/carry-consents.js';
import { recordPersonIdMoves } from '../../shared/linkage/person-id-history.js';
import type { Services } from '../../shared/services.js';
import type { Database } from '../../shared/store/schema.js';

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
 * Runs `call` (a request) with `race` (a pass, a snapshot, retention) started as the first
 * transaction the call opens on the store begins — a request's write, after its reads — and
 * committed before that transaction's work runs, as it can on the store's one connection. Fails
 * if the call opened no transaction, so a test that raced nothing does not pass.
 */
export async function raceAtFirstWrite<T>(
  services: Services,
  race: () => Promise<unknown>,
  call: () => Promise<T>,
): Promise<T> {
  const db = services.store.db as Kysely<Database> & { transaction: Kysely<Database>['transaction'] };
  const original = db.transaction.bind(db);
  let raced = false;
  db.transaction = (() => {
    if (raced) return original();
    raced = true;
    const committed = race();
    const builder = original();
    const execute = builder.execute.bind(builder);
    return Object.assign(builder, {
      execute: (async (fn: never) => {
        await committed;
        return execute(fn);
      }) as typeof builder.execute,
    });
  }) as typeof db.transaction;
  try {
    const answer = await call();
    expect(raced, 'the call opened no transaction to race').toBe(true);
    return answer;
  } finally {
    db.transaction = original;
  }
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
    await recordPersonIdMoves(trx, services.store.dialect.engine, moves, now);
  });
}

/**
 * {@link commitRecordMove} as a linking pass that stamped its moves `stampedBeforeCommitMs` before
 * it committed (a large pass, its moves written in chunks): the move names the pass's
 * `link_run`, which notes when the pass finished its work and, just after the commit, when it
 * committed, as link-people.ts does.
 */
export async function commitRecordMoveStampedEarly(
  services: Services,
  move: { recordId: string; from: string; to: string; keep: readonly string[] },
  stampedBeforeCommitMs: number,
): Promise<void> {
  const runId = randomUUID();
  const stamped = new Date(Date.now() - stampedBeforeCommitMs).toISOString();
  const moves = [{ from: move.from, to: move.to }];
  await services.store.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('link_run')
      .values({
        id: runId,
        agreement_id: 'test-pass',
        kind: 'full',
        started_at: stamped,
        finished_at: null,
        summary: null,
      })
      .execute();
    await carryConsentEvents(trx, services.store.dialect.engine, moves, new Set(move.keep), stamped);
    await trx.updateTable('source_record').set({ person_id: move.to }).where('id', '=', move.recordId).execute();
    await recordPersonIdMoves(trx, services.store.dialect.engine, moves, stamped, runId);
    await trx.updateTable('link_run').set({ finished_at: new Date().toISOString() }).where('id', '=', runId).execute();
  });
  await services.store.db
    .updateTable('link_run')
    .set({ committed_at: new Date().toISOString() })
    .where('id', '=', runId)
    .execute();
}

/**
 * Commits `race` as the `nth` read a request makes on the store's read connection (a lookup's
 * reads: who holds an id, its moves, its records) returns, before the request goes on; for a
 * request that reaches no consent check. `reached` tells whether that read was made.
 */
export function afterRead(
  services: Services,
  nth: number,
  race: () => Promise<unknown>,
): { restore: () => void; reached: () => boolean } {
  const reads = services.store.reads as { execute: (...args: never[]) => Promise<unknown> };
  const original = reads.execute;
  let count = 0;
  reads.execute = async (...args: never[]) => {
    const rows = await original.apply(reads, args);
    if (++count === nth) await race();
    return rows;
  };
  return {
    restore: () => {
      reads.execute = original;
    },
    reached: () => count >= nth,
  };
}

/**
 * Commits `race` as a request's first match (the API context's findPerson) returns, before the
 * request reads anything of the person found; for requests that reach no consent check (a
 * duplicate check, a subject access request). Call `restore` in a `finally`.
 */
export function afterMatch(
  services: Services,
  race: () => Promise<unknown>,
): { restore: () => void; reached: () => boolean } {
  const ctx = apiContextFor(services);
  const original = ctx.findPerson;
  let fired = false;
  ctx.findPerson = async (...args) => {
    const found = await original.apply(ctx, args);
    if (!fired) {
      fired = true;
      await race();
    }
    return found;
  };
  return {
    restore: () => {
      ctx.findPerson = original;
    },
    reached: () => fired,
  };
}

/**
 * Runs `pass` (a linking pass) with `beforeCommit` run once its transaction's work is done (its
 * moves stamped) and before it commits: lookups meanwhile read the store as last committed. Fails
 * if the pass opened no transaction.
 */
export async function beforePassCommits<T>(
  services: Services,
  beforeCommit: () => Promise<void>,
  pass: () => Promise<T>,
): Promise<T> {
  const db = services.store.db as Kysely<Database> & { transaction: Kysely<Database>['transaction'] };
  const original = db.transaction.bind(db);
  let reached = false;
  db.transaction = (() => {
    const builder = original();
    if (reached) return builder;
    reached = true;
    const execute = builder.execute.bind(builder);
    return Object.assign(builder, {
      execute: (async (fn: (trx: Kysely<Database>) => Promise<unknown>) =>
        execute(async (trx) => {
          const done = await fn(trx);
          await beforeCommit();
          return done;
        })) as typeof builder.execute,
    });
  }) as typeof db.transaction;
  try {
    const result = await pass();
    expect(reached, 'the pass opened no transaction').toBe(true);
    return result;
  } finally {
    db.transaction = original;
  }
}
