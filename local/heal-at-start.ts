import { healCurated, type CuratedHealDependencies } from '../shared/curated/curated-export.js';

/**
 * `npm start`'s heal of the curated files, and the line it prints of it (none when healed): the
 * local timer keeps no schedule state, so a planning export whose process died (Ctrl-C, a crash)
 * would leave latest/ half written until the next export ran, a month away at best. Apart from
 * host.ts, which runs as it is imported, so that what the operator is told of a pass another run
 * stopped can be tested against a real takeover of the export lock.
 */
export async function healCuratedAtStart(deps: CuratedHealDependencies): Promise<string | undefined> {
  return healCurated(deps).then(
    (outcome) => {
      // Another export run holding the lock heals the files itself: nothing for the operator to
      // look into (found by a review: a lost lease was printed as files not healed).
      if (outcome === 'busy')
        return 'curated files not healed now: another planning export run holds the lock, and heals them';
      if (outcome === 'lease-lost')
        return 'curated files: healing stopped, as another planning export run took the lock; that run heals them';
      return undefined;
    },
    (err: unknown) => `curated files not healed (${err instanceof Error ? err.name : 'error'})`,
  );
}
