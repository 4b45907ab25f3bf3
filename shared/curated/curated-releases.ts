import { randomUUID } from 'node:crypto';
import type { Store } from '../store/database.js';
import type { IndicatorCount } from './indicator-counts.js';

/** The recipient, purpose and dataset a release is for. */
export interface ReleaseTarget {
  readonly agreementId: string;
  readonly purposeId: string;
  readonly datasetId: string;
  readonly partyId: string;
}

export interface Release {
  readonly target: ReleaseTarget;
  /** The agreement's version the release was decided under (null only if it has none). */
  readonly agreementVersion: string | null;
  readonly generatedAt: Date;
  readonly lines: readonly IndicatorCount[];
  /** SHA-256 (hex) of the CSV the same lines were written to. */
  readonly countsSha256: string;
}

/** Lines a statement: 7 values each, well under SQL Server's 2,100 parameters. */
const LINES_A_STATEMENT = 200;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Stores a release where the view `curated_indicator_counts` shows it (migration 0012), in one
 * transaction: a reader sees the whole release or none of it. The release replaces any earlier
 * one of the same target and day, as the files of its dated folder do, and releases older than
 * `historyDays` go, whatever their target, as the lifecycle rule deletes the dated folders.
 */
export async function storeRelease(store: Store, release: Release, historyDays: number): Promise<void> {
  const { target, generatedAt } = release;
  const day = generatedAt.toISOString().slice(0, 10);
  const nextDay = new Date(Date.parse(day) + DAY_MS).toISOString();
  const expired = new Date(generatedAt.getTime() - historyDays * DAY_MS).toISOString();
  await store.db.transaction().execute(async (trx) => {
    // Expired releases of every target go, those of a recipient no longer exported to among
    // them, with this target's earlier release of the day; by condition, not by a list of ids,
    // which could outgrow SQL Server's 2,100 parameters.
    const replaced = trx
      .selectFrom('curated_release')
      .select('id')
      .where((eb) =>
        eb.or([
          eb.and([
            eb('party_id', '=', target.partyId),
            eb('purpose_id', '=', target.purposeId),
            eb('dataset_id', '=', target.datasetId),
            eb('generated_at', '>=', `${day}T00:00:00.000Z`),
            eb('generated_at', '<', nextDay),
          ]),
          eb('generated_at', '<', expired),
        ]),
      );
    await trx.deleteFrom('curated_count').where('release_id', 'in', replaced).execute();
    await trx.deleteFrom('curated_release').where('id', 'in', replaced).execute();
    const id = randomUUID();
    await trx
      .insertInto('curated_release')
      .values({
        id,
        agreement_id: target.agreementId,
        agreement_version: release.agreementVersion,
        purpose_id: target.purposeId,
        dataset_id: target.datasetId,
        party_id: target.partyId,
        generated_at: generatedAt.toISOString(),
        lines: release.lines.length,
        counts_sha256: release.countsSha256,
      })
      .execute();
    const yn = (b: boolean) => (b ? 'Y' : 'N') as 'Y' | 'N';
    const rows = release.lines.map((l, i) => ({
      release_id: id,
      line: i + 1,
      measure: l.measure,
      category: l.category,
      people: l.people,
      suppressed: yn(l.suppressed),
      special_category: yn(l.specialCategory),
    }));
    for (let i = 0; i < rows.length; i += LINES_A_STATEMENT)
      await trx
        .insertInto('curated_count')
        .values(rows.slice(i, i + LINES_A_STATEMENT))
        .execute();
  });
}
