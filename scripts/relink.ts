/**
 * `npm run relink`                         link every agreement's records again from scratch
 * `npm run relink -- --agreement <id>`     one agreement
 * `npm run relink -- --pending`            only records no pass has linked yet (what the timer does)
 *
 * Runs against the configured store (local settings by default). Prints each pass's counts:
 * links by tier, candidates waiting for review, merges refused (by the identifier guards, or as ambiguous),
 * people, and person ids that changed. Officers' decisions are kept.
 */
import { parseArgs } from 'node:util';
import { loadLocalSettings, useRunningAzurite } from '../local/settings.js';
import { loadConfig } from '../shared/config.js';
import { linkPendingRecords, relinkAll } from '../shared/linkage/pending-links.js';
import { createServices } from '../shared/services.js';

const { values } = parseArgs({
  options: { agreement: { type: 'string' }, pending: { type: 'boolean', default: false } },
});
loadLocalSettings();
useRunningAzurite();
const services = await createServices(loadConfig(process.env));
try {
  if (values.agreement !== undefined && services.agreements.agreement(values.agreement) === undefined) {
    process.stderr.write(`no agreement with id ${values.agreement}\n`);
    process.exitCode = 2;
  } else {
    const summaries = values.pending ? await linkPendingRecords(services) : await relinkAll(services, values.agreement);
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
          `links ${tiers}; candidates ${s.candidates} awaiting review, ${s.candidatesConfirmedEarlier} confirmed earlier, ${s.candidatesRejectedEarlier} rejected earlier; ` +
          `refused merges ${refused}; ${s.people} people, ${s.personIdsChanged} person ids changed (${s.seconds} s)\n`,
      );
    }
    if (summaries.length === 0) process.stdout.write('nothing to link\n');
  }
} finally {
  await services.close();
}
