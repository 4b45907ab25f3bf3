import { sql, type Selectable } from 'kysely';
import type { Store } from '../store/database.js';
import type { AccessLogTable } from '../store/schema.js';
import { storedRowBytes } from './access-log-rows.js';
import { leafHash } from './merkle.js';

/** Rows a page of stored leaf hashes: two small columns a row. */
const LEAF_HASH_PAGE = 20_000;

/**
 * Keyset paging over the log: each page the rows after the last seq seen, so every read is an
 * index seek and memory holds one page however long the log grows. Yields rows as stored,
 * gaps and tampering included, which is what the verifier needs to see.
 */
async function* seqPages<R extends { seq: number }>(
  readAfter: (after: number) => Promise<R[]>,
  pageSize: number,
  from = 0,
): AsyncGenerator<R[]> {
  let after = from;
  for (;;) {
    const rows = await readAfter(after);
    if (rows.length > 0) yield rows;
    if (rows.length < pageSize) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}

/** Stored leaf hashes in sequence order: flat memory for the checkpointer. */
export async function* storedLeafHashes(store: Store, treeSize = Number.MAX_SAFE_INTEGER): AsyncGenerator<Buffer> {
  const pages = seqPages(
    (after) =>
      store.dialect
        .firstRows(
          store.db
            .selectFrom('access_log')
            .select(['seq', 'leaf_hash'])
            .where('seq', '>', after)
            .where('seq', '<=', treeSize)
            .orderBy('seq'),
          LEAF_HASH_PAGE,
        )
        .execute(),
    LEAF_HASH_PAGE,
  );
  for await (const page of pages) for (const row of page) yield Buffer.from(row.leaf_hash);
}

/** Whole rows a page when the unsigned entries are checked: a few minutes' entries in all. */
const UNSIGNED_PAGE = 2000;

/**
 * The first entry after `signedSize` (up to `treeSize`) that is not as it was written, or
 * undefined when every one is: each row's leaf hash recomputed from its columns as the verifier
 * does (verify-log.ts), its list columns as written, and the sequence unbroken. The checkpointer
 * asks before it signs, since it signs the stored hashes: an entry edited before its first
 * checkpoint would otherwise be signed over, and every later checkpoint would report the same
 * range however many other rewrites followed.
 */
export async function firstUnsignedEntryAltered(
  store: Store,
  signedSize: number,
  treeSize: number,
): Promise<number | undefined> {
  let expected = signedSize + 1;
  const pages = seqPages(
    (after) =>
      store.dialect
        .firstRows(
          store.db
            .selectFrom('access_log')
            .selectAll()
            .select((store.dialect.engine === 'sqlite' ? typedColumns : sql<number>`1`).as('typed'))
            .where('seq', '>', after)
            .where('seq', '<=', treeSize)
            .orderBy('seq'),
          UNSIGNED_PAGE,
        )
        .execute(),
    UNSIGNED_PAGE,
    signedSize,
  );
  for await (const page of pages) {
    for (const row of page) {
      const seq = Number(row.seq);
      if (seq !== expected) return Math.min(seq, expected);
      expected++;
      try {
        const { typed, ...stored } = row;
        const { bytes, asWritten } = storedRowBytes(stored);
        if (Number(typed) !== 1 || !asWritten || !leafHash(bytes).equals(Buffer.from(row.leaf_hash))) return seq;
      } catch {
        return seq;
      }
    }
  }
  return expected === treeSize + 1 ? undefined : expected;
}

/**
 * The seqs in (`after`, `through`] of entries {@link firstUnsignedEntryAltered} finds altered, or
 * missing, or held twice: those of the log already signed as well, which a stored hash kept beside
 * a rewritten entry leaves extending its checkpoint (only verify hashes the whole log).
 */
export async function entriesAltered(store: Store, after: number, through: number): Promise<Set<number>> {
  const altered = new Set<number>();
  for (let from = after; from < through;) {
    const seq = await firstUnsignedEntryAltered(store, from, through);
    if (seq === undefined) break;
    altered.add(seq);
    from = seq;
  }
  return altered;
}

/**
 * Whether the log holds a row the checkpointer's walk from seq 1 does not read: below seq 1, a
 * seq held twice, or none. Verify reports each (sequence-broken, entry-unreadable), so the
 * checkpointer must not sign beside them.
 */
export async function rowsOutsideTheSequence(store: Store): Promise<boolean> {
  const below = await store.dialect
    .firstRows(store.db.selectFrom('access_log').select('seq').where('seq', '<', 1), 1)
    .execute();
  if (below.length > 0) return true;
  const beside = await rowsBesideTheSequence(store, 1);
  return beside.repeatedSeqs.length > 0 || beside.withoutSeq > 0;
}

/**
 * Rows of the log that a walk in sequence order does not read: seqs held by more than one row
 * (up to `limit` of them, lowest first) and how many rows have no seq. Neither can happen while
 * seq is the table's primary key; both can once its table is rebuilt without one.
 */
export async function rowsBesideTheSequence(
  store: Store,
  limit: number,
): Promise<{ repeatedSeqs: number[]; withoutSeq: number }> {
  const repeated = await store.dialect
    .firstRows(
      store.db
        .selectFrom('access_log')
        .select('seq')
        .where('seq', 'is not', null)
        .groupBy('seq')
        .having((eb) => eb.fn.countAll(), '>', 1)
        .orderBy('seq'),
      limit,
    )
    .execute();
  const nulls = await store.db
    .selectFrom('access_log')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('seq', 'is', null)
    .executeTakeFirst();
  return { repeatedSeqs: repeated.map((r) => Number(r.seq)), withoutSeq: Number(nulls?.n ?? 0) };
}

export async function logSize(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('access_log')
    .select((eb) => eb.fn.max('seq').as('max'))
    .executeTakeFirst();
  return Number(row?.max ?? 0);
}

/** Rows a page when verifying: measured best on SQLite — larger pages outlive the young generation and cost GC. */
const VERIFY_PAGE = 4000;
/** SQL Server takes at most 2,100 parameters a statement. */
const SEQS_PER_QUERY = 1000;

/** One stored entry as the verifier first reads it. */
export interface StoredLeaf {
  seq: number;
  /** The stored leaf hash as hex digits in either case (Dialect.hex); '' or null when none is stored. */
  leaf_hex: string | null;
  /** SQLite: 0 when a column holds another storage class than the log writes (text, seq an integer); else 1. */
  typed: number;
  /**
   * The entry's columns assembled by the database into the shape of its canonical encoding
   * (entry-codec.ts: keys in order, strings quoted but not escaped, list columns as stored), or
   * null when a column is null. Only a candidate: see {@link CANONICAL_PLAIN_ENTRY}.
   */
  assembled: string | null;
}

const col = (name: keyof AccessLogTable) => sql.ref(`access_log.${name}`);
const NOT_NULL_COLUMNS = [
  'action',
  'client_id',
  'datasets',
  'decision',
  'fields',
  'party_id',
  'purpose',
  'reason_code',
  'request_id',
  'roles',
  'seq',
  'time',
] as const;

/**
 * The assembly, in CONCAT (SQLite >= 3.44 and SQL Server alike). Letting the database build one
 * string per row instead of handing over thirteen column values is what makes a full
 * verification fast: the driver's cost per column value (a JavaScript value and a property each)
 * was the largest part of the verifier's time per row. CONCAT reads a null as empty, so any null
 * column yields null instead, and the row goes to the codec.
 */
const assembledEntry = sql<string | null>`case when ${sql.join(
  NOT_NULL_COLUMNS.map((c) => sql`${col(c)} is null`),
  sql` or `,
)} then null else concat(${sql.join([
  sql.lit('{"action":"'),
  col('action'),
  sql.lit('","clientId":"'),
  col('client_id'),
  sql.lit('","datasets":'),
  col('datasets'),
  sql.lit(',"decision":"'),
  col('decision'),
  sql.lit('","fields":'),
  col('fields'),
  sql.lit(',"partyId":"'),
  col('party_id'),
  sql.lit('","purpose":"'),
  col('purpose'),
  sql.lit('","reasonCode":"'),
  col('reason_code'),
  sql.lit('","requestId":"'),
  col('request_id'),
  sql.lit('","roles":'),
  col('roles'),
  sql.lit(',"seq":'),
  col('seq'),
  sql.lit(',"subjectRef":'),
  sql`case when ${col('subject_ref')} is null then 'null' else concat('"', ${col('subject_ref')}, '"') end`,
  sql.lit(',"time":"'),
  col('time'),
  sql.lit('"}'),
])}) end`;

const PLAIN_STRING = '"[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*"';
const PLAIN_LIST = `\\[(?:${PLAIN_STRING}(?:,${PLAIN_STRING})*)?\\]`;

/**
 * The assembled strings that are exactly what encodeEntryUnchecked writes for the row: every
 * string printable ASCII without `"` or a backslash (so it needs no escaping and none was
 * skipped), every list column in JSON.stringify's own form for such strings, `seq` a plain
 * decimal below 10^15. No string can hold a quote, so every `"key":` in the text is a key, and
 * the pattern has each key once: the keys matched are the ones the assembly wrote, and each
 * column's value lies exactly between its own key and the next. A row this matches therefore
 * encodes, by the codec's own rules, to these very bytes. Anything else (non-ASCII, escapes, a
 * list column rewritten as other JSON, a null) goes to the codec itself.
 */
export const CANONICAL_PLAIN_ENTRY = new RegExp(
  `^\\{"action":${PLAIN_STRING},"clientId":${PLAIN_STRING},"datasets":${PLAIN_LIST},"decision":${PLAIN_STRING},` +
    `"fields":${PLAIN_LIST},"partyId":${PLAIN_STRING},"purpose":${PLAIN_STRING},"reasonCode":${PLAIN_STRING},` +
    `"requestId":${PLAIN_STRING},"roles":${PLAIN_LIST},"seq":(?:0|[1-9][0-9]{0,14}),"subjectRef":(?:null|${PLAIN_STRING}),` +
    `"time":${PLAIN_STRING}\\}$`,
);

/**
 * On SQLite, whether every column holds the storage class the log writes. Its columns have type
 * affinity only, so text rewritten as a blob of the same bytes is kept as a blob: it assembles
 * and hashes as before, yet no longer equals the text a DPO's query asks for (a subject's
 * accesses would vanish from the views while verification passed). SQL Server's columns are typed.
 */
const typedColumns = sql<number>`case when ${sql.join(
  NOT_NULL_COLUMNS.filter((c) => c !== 'seq').map((c) => sql`typeof(${col(c)}) = 'text'`),
  sql` and `,
)} and typeof(${col('seq')}) = 'integer' and typeof(${col('subject_ref')}) in ('text', 'null') then 1 else 0 end`;

/**
 * The whole log in sequence order for verification, a page at a time, each row with its stored
 * leaf hash and its assembled entry, gaps and all — rows below seq 1 too, which no entry has, so
 * that one inserted there is seen and reported.
 */
export function storedLeafPages(store: Store): AsyncGenerator<StoredLeaf[]> {
  const typed = store.dialect.engine === 'sqlite' ? typedColumns : sql<number>`1`;
  return seqPages(
    (after) =>
      store.dialect
        .firstRows(
          store.db
            .selectFrom('access_log')
            .select((eb) => [
              'seq',
              store.dialect.hex(eb.ref('leaf_hash')).as('leaf_hex'),
              assembledEntry.as('assembled'),
              typed.as('typed'),
            ])
            .where('seq', '>', after)
            .orderBy('seq'),
          VERIFY_PAGE,
        )
        .execute(),
    VERIFY_PAGE,
    Number.MIN_SAFE_INTEGER,
  );
}

/** Whole rows for the given sequence numbers: the verifier's path for rows it cannot take the fast way. */
export async function accessLogRowsBySeq(
  store: Store,
  seqs: readonly number[],
): Promise<Map<number, Selectable<AccessLogTable>>> {
  const rows = new Map<number, Selectable<AccessLogTable>>();
  for (let i = 0; i < seqs.length; i += SEQS_PER_QUERY) {
    const found = await store.db
      .selectFrom('access_log')
      .selectAll()
      .where('seq', 'in', seqs.slice(i, i + SEQS_PER_QUERY))
      .execute();
    for (const row of found) rows.set(Number(row.seq), row);
  }
  return rows;
}
