/**
 * `npm run relink`                         link every agreement's records again from scratch
 * `npm run relink -- --agreement <id>`     one agreement
 * `npm run relink -- --pending`            only records no pass has linked yet, and agreements
 *                                          re-signed since their last pass (what the timer does)
 * `npm run relink -- --pending --agreement <id>`   one agreement's records no pass has linked yet
 *
 * Runs against the configured store (local settings by default). Prints each pass's counts:
 * links by tier, candidates waiting for review, merges refused (by the identifier guards, or as ambiguous),
 * people, and person ids that changed. Officers' decisions are kept. Exit status: 0 linked,
 * 1 failed, 2 an unknown option or agreement.
 */
import type { Services } from '../shared/services.js';
import { failureLine, parseOptions, refuseUsage } from './cli.js';
import { configuredAgreements } from './configured-agreements.js';

const USAGE = 'npm run relink [-- [--agreement <id>] [--pending]]';
const { values } = parseOptions('relink', USAGE, {
  options: { agreement: { type: 'string' }, pending: { type: 'boolean', default: false } },
});
let services: Services | undefined;
try {
  // An agreement the files do not define is a mistyped --agreement, refused on the files alone:
  // the store would only say the same some 1-2 s later.
  if (values.agreement !== undefined && configuredAgreements().agreement(values.agreement) === undefined) {
    refuseUsage('relink', `no agreement with id ${values.agreement}`, USAGE);
  } else {
    // The stack's graph (the store, its drivers, every migration) is loaded only once the command
    // line is read: a mistyped option, an unknown agreement or --help is answered without it, as
    // token's is (it took tsx some 2 s to load first).
    const { linkPendingRecords, relinkAll } = await import('../shared/linkage/pending-links.js');
    const { stackServices } = await import('./stack-services.js');
    services = await stackServices();
    const summaries = values.pending
      ? await linkPendingRecords(services, values.agreement)
      : await relinkAll(services, values.agreement);
    for (const s of summaries) {
      const tiers =
        Object.entries(s.linksByTier)
          .map(([tier, n]) => `tier ${tier}: ${n}`)
          .join(', ') || 'none';
      const refused =
        Object.entries(s.refusedMerges)
          .map(([why, n]) => `${why} ${n}`)
          .join(', ') || 'none';
      process.stdout.write(
        `${s.agreementId} (${s.kind}): ${s.records} records in ${s.sources} sources, ${s.sourcePairsLinked} source pairs linked; ` +
          `links ${tiers}; candidates ${s.candidates} awaiting review, ${s.candidatesConfirmedEarlier} confirmed earlier, ${s.candidatesRejectedEarlier} rejected earlier, ${s.candidatesConfirmedElsewhere} confirmed under another agreement; ` +
          `refused merges ${refused}; ${s.people} people, ${s.personIdsChanged} person ids changed (${s.seconds} s)\n`,
      );
    }
    if (summaries.length === 0) process.stdout.write('nothing to link\n');
  }
} catch (err) {
  process.stderr.write(failureLine('relink', err));
  process.exitCode = 1;
} finally {
  await services?.close();
}
