import type { Generated } from 'kysely';

/**
 * Row shapes of the store, as the query builder sees them. Times are ISO-8601 UTC text on both
 * engines: it sorts correctly as text, round-trips exactly, and avoids the two engines'
 * different date types.
 */
export interface ImportRunTable {
  id: string;
  party_id: string;
  dataset_id: string;
  blob_name: string;
  content_sha256: string;
  status: 'received' | 'loading' | 'loaded' | 'rejected' | 'failed';
  rows_total: number | null;
  rows_loaded: number | null;
  rows_rejected: number | null;
  received_at: string;
  finished_at: string | null;
  attempt: Generated<number>;
}

export interface Database {
  import_run: ImportRunTable;
}
