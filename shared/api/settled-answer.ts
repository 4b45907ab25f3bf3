import { problem } from '../http/problem.js';
import { MOVE_COMMIT_MARGIN_MS } from '../people/current-person-id.js';
import type { ApiContext } from './api-context.js';
import { deny, type Outcome } from './request-pipeline.js';

/** An answer a linking pass made stale: records moved out of the person's id at `movedOut`. */
export interface Unsettled {
  readonly movedOut: string;
  /** What the 409 is logged with, should the person move again. */
  readonly log: Omit<Outcome['log'], 'decision' | 'reasonCode'>;
}

/**
 * Answers a call about a person it matches. The call's reads (and a change's write) are each of
 * the store as committed at their moment, so a linking pass, a new snapshot or retention can move
 * or remove the person between the match and what the call reads or writes about them: `answer`
 * says so ({@link Unsettled}) where records moved out of the id by a pass that committed after
 * `settledSince` (lastMoveOutCommitted: not by the stamp on the moves, which a pass writes before
 * the rest of its work and its commit). It is then
 * run once more, from the move's time, on the people the change left (`retry`); should the
 * person move again meanwhile, nothing is answered about anyone: 409 `subject-relinked`.
 * A search, a duplicate check, a consent and a subject access request by identifiers or by
 * reference answer this way (each found by a review or a defect hunt answering about the
 * namesake a split left under the id, or about half of a merged person).
 */
export async function answerSettled(
  ctx: Pick<ApiContext, 'now'>,
  answer: (settledSince: string, retry: boolean) => Promise<Outcome | Unsettled>,
): Promise<Outcome> {
  // A move counts from its pass's commit, noted just after it (current-person-id.ts's
  // lastMoveOutCommitted), so a pass that committed while the call ran is seen however long it
  // took from stamping its moves; the margin covers the clocks of the pass's host and this one,
  // and moves whose pass's commit is not known.
  let settledSince = new Date(ctx.now().getTime() - MOVE_COMMIT_MARGIN_MS).toISOString();
  for (let retry = false; ; retry = true) {
    const outcome = await answer(settledSince, retry);
    if (!('movedOut' in outcome)) return outcome;
    if (retry) {
      return deny(problem('subject-relinked'), 'subject-relinked', outcome.log);
    }
    settledSince = outcome.movedOut;
  }
}
