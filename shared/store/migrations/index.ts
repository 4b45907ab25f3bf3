import type { Migration } from 'kysely';
import type { Dialect } from '../dialect.js';
import { foundation } from './0001-foundation.js';
import { accessLog } from './0002-access-log.js';
import { records } from './0003-records.js';
import { consents } from './0005-consents.js';
import { auditAlerts } from './0006-audit-alerts.js';
import { linkage } from './0007-linkage.js';
import { accessLogFile } from './0009-access-log-file.js';
import { carriedPersonId } from './0010-carried-person-id.js';
import { carriedPersonIndex } from './0011-carried-person-index.js';
import { curatedReleases } from './0012-curated-releases.js';
import { importRunSnapshotOrder } from './0013-import-run-snapshot-order.js';
import { personIdMoves } from './0014-person-id-moves.js';
import { identifierKeyVersionIndex } from './0015-identifier-key-version-index.js';
import { personIdMoveTimes } from './0016-person-id-move-times.js';
import { linkIdentityKey } from './0017-link-identity-key.js';
import { decisionIdentityKey } from './0018-decision-identity-key.js';
import { optOutKeptKeys } from './0019-opt-out-kept-keys.js';
import { retiredIdentifiers } from './0020-retired-identifiers.js';
import { keptHashKeyVersions } from './0021-kept-hash-key-versions.js';
import { personIdSince } from './0022-person-id-since.js';
import { unloadedRunDates } from './0023-unloaded-run-dates.js';
import { decisionRecordPrints } from './0024-decision-record-prints.js';
import { decisionAgreement } from './0025-decision-agreement.js';
import { attributeLayouts } from './0026-attribute-layouts.js';
import { optOutSuccessors } from './0027-opt-out-successors.js';
import { importRunRejectionReason } from './0028-import-run-rejection-reason.js';
import { linkRunAgreementIndex } from './0029-link-run-agreement-index.js';
import { linkRunCommitTimes } from './0030-link-run-commit-times.js';
import { postcodeWidth } from './0031-postcode-width.js';
import { anchoredCheckpoints } from './0032-anchored-checkpoints.js';
import { breachSteps } from './0033-breach-steps.js';
import { alertAgreement } from './0034-alert-agreement.js';
import { accessLogRequestIndex } from './0035-access-log-request-index.js';
import { retentionRuns } from './0036-retention-runs.js';
import { accessLogSubjectWidth } from './0037-access-log-subject-width.js';
import { purposeAgreements } from './0038-purpose-agreements.js';
import { datasetAgreements } from './0039-dataset-agreements.js';
import { agreementParties } from './0040-agreement-parties.js';
import { agreementIdentifierKinds } from './0041-agreement-identifier-kinds.js';
import { agreementDroppedParties } from './0042-agreement-dropped-parties.js';
import { linkRunAgreementSources } from './0043-link-run-agreement-sources.js';
import { decisionPerAgreement } from './0044-decision-per-agreement.js';
import { linkRunAgreementVersion } from './0045-link-run-agreement-version.js';
import { agreementContentHash } from './0046-agreement-content-hash.js';
import { curatedReleaseManifest } from './0047-curated-release-manifest.js';
import { decisionLegacyUnique } from './0048-decision-legacy-unique.js';
import { lockEpochs } from './0049-lock-epochs.js';
import { accessLogSubjectIds } from './0050-access-log-subject-ids.js';
import { accessLogSubjectIdsFilled } from './0051-access-log-subject-ids-filled.js';
import { breachPartnersDeadline } from './0052-breach-partners-deadline.js';
import { matchingKeysNamingNoOne } from './0053-matching-keys-naming-no-one.js';
import { importRunNameIndex } from './0054-import-run-name-index.js';
import { importRunEntryLogged } from './0055-import-run-entry-logged.js';
import { curatedReleaseMinCell } from './0056-curated-release-min-cell.js';

/**
 * Versioned migrations, applied in key order on both engines. Add a new file with the next
 * number; never edit one that has shipped.
 */
export function migrationsFor(d: Dialect): Record<string, Migration> {
  return {
    '0001-foundation': foundation(d),
    '0002-access-log': accessLog(d),
    '0003-records': records(d),
    '0005-consents': consents(d),
    '0006-audit-alerts': auditAlerts(d),
    '0007-linkage': linkage(d),
    '0009-access-log-file': accessLogFile(d),
    '0010-carried-person-id': carriedPersonId(d),
    '0011-carried-person-index': carriedPersonIndex(d),
    '0012-curated-releases': curatedReleases(d),
    '0013-import-run-snapshot-order': importRunSnapshotOrder(d),
    '0014-person-id-moves': personIdMoves(d),
    '0015-identifier-key-version-index': identifierKeyVersionIndex(d),
    '0016-person-id-move-times': personIdMoveTimes(d),
    '0017-link-identity-key': linkIdentityKey(d),
    '0018-decision-identity-key': decisionIdentityKey(d),
    '0019-opt-out-kept-keys': optOutKeptKeys(d),
    '0020-retired-identifiers': retiredIdentifiers(d),
    '0021-kept-hash-key-versions': keptHashKeyVersions(d),
    '0022-person-id-since': personIdSince(d),
    '0023-unloaded-run-dates': unloadedRunDates(d),
    '0024-decision-record-prints': decisionRecordPrints(d),
    '0025-decision-agreement': decisionAgreement(d),
    '0026-attribute-layouts': attributeLayouts(d),
    '0027-opt-out-successors': optOutSuccessors(d),
    '0028-import-run-rejection-reason': importRunRejectionReason(d),
    '0029-link-run-agreement-index': linkRunAgreementIndex(d),
    '0030-link-run-commit-times': linkRunCommitTimes(d),
    '0031-postcode-width': postcodeWidth(d),
    '0032-anchored-checkpoints': anchoredCheckpoints(d),
    '0033-breach-steps': breachSteps(d),
    '0034-alert-agreement': alertAgreement(d),
    '0035-access-log-request-index': accessLogRequestIndex(d),
    '0036-retention-runs': retentionRuns(d),
    '0037-access-log-subject-width': accessLogSubjectWidth(d),
    '0038-purpose-agreements': purposeAgreements(d),
    '0039-dataset-agreements': datasetAgreements(d),
    '0040-agreement-parties': agreementParties(d),
    '0041-agreement-identifier-kinds': agreementIdentifierKinds(d),
    '0042-agreement-dropped-parties': agreementDroppedParties(d),
    '0043-link-run-agreement-sources': linkRunAgreementSources(d),
    '0044-decision-per-agreement': decisionPerAgreement(d),
    '0045-link-run-agreement-version': linkRunAgreementVersion(d),
    '0046-agreement-content-hash': agreementContentHash(d),
    '0047-curated-release-manifest': curatedReleaseManifest(d),
    '0048-decision-legacy-unique': decisionLegacyUnique(d),
    '0049-lock-epochs': lockEpochs(d),
    '0050-access-log-subject-ids': accessLogSubjectIds(d),
    '0051-access-log-subject-ids-filled': accessLogSubjectIdsFilled(d),
    '0052-breach-partners-deadline': breachPartnersDeadline(d),
    '0053-matching-keys-naming-no-one': matchingKeysNamingNoOne(d),
    '0054-import-run-name-index': importRunNameIndex(d),
    '0055-import-run-entry-logged': importRunEntryLogged(d),
    '0056-curated-release-min-cell': curatedReleaseMinCell(d),
  };
}
