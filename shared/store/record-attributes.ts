import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Store } from './database.js';
import type { Engine } from './dialect.js';
import type { Database } from './schema.js';

/**
 * How a record's `attributes` (its display and special-category fields) are stored, and read.
 *
 * A record holds a JSON array: the id of its attribute layout — the names its file supplied, in
 * the dataset's order — then one value a name, null where the cell was empty. The names are
 * kept once a layout, in `attribute_layout` (migration 0026), not in every record: as a JSON
 * object's keys they were about a third of a record's bytes and a seventh of the store a snapshot
 * load writes, and its index builds read them back twice (bench/RESULTS.md). Records
 * written before 0026 hold JSON objects; both forms are read, as the same object.
 *
 * A layout's id is derived from its names, so an id names the same names in every store and
 * forever: what one read learns serves every later read, and a layout is checked against its
 * id when it is learnt and when it is kept.
 */

export type RecordAttributes = Readonly<Record<string, unknown>>;

export interface AttributeLayout {
  readonly id: string;
  readonly names: readonly string[];
}

const ID_LENGTH = 16;

export function attributeLayout(names: readonly string[]): AttributeLayout {
  const id = createHash('sha256').update(JSON.stringify(names)).digest('hex').slice(0, ID_LENGTH);
  return { id, names };
}

/**
 * One record's `attributes` text: the layout's id, then the value at each of `indexes` in
 * `values` (the layout's names' places in the row). Written out directly rather than through an
 * array and JSON.stringify, which costs a million short-lived arrays a million-row import; the
 * text is the same (test/shared/imports/snapshot-writer.test.ts).
 */
export function attributesText(layoutId: string, indexes: readonly number[], values: readonly unknown[]): string {
  let json = `["${layoutId}"`;
  for (const i of indexes) {
    const v = values[i];
    json +=
      v === null || v === undefined
        ? ',null'
        : typeof v === 'boolean'
          ? v
            ? ',true'
            : ',false'
          : `,${JSON.stringify(v)}`;
  }
  return `${json}]`;
}

/**
 * Records the layout in the store, in the transaction that writes the records using it: a
 * record is never committed before its layout. Refuses a layout whose id the store holds for
 * other names (two lists of names with the same 64-bit prefix of their hash), rather than let
 * either's records be read under the other's names. On SQL Server the read holds an update
 * lock on the id to the end of the transaction, so two loads bringing the same new layout take
 * turns, and the second finds the first's row instead of failing on the key.
 */
export async function keepAttributeLayout(
  db: Kysely<Database>,
  engine: Engine,
  layout: AttributeLayout,
): Promise<void> {
  const names = JSON.stringify(layout.names);
  const lock = engine === 'mssql' ? sql.raw(' with (updlock, holdlock)') : sql.raw('');
  const { rows } = await sql<{
    names: string;
  }>`select names from attribute_layout${lock} where id = ${layout.id}`.execute(db);
  const held = rows[0];
  if (held === undefined) await db.insertInto('attribute_layout').values({ id: layout.id, names }).execute();
  else if (held.names !== names)
    throw new Error(`attribute layout ${layout.id}: the store holds other names under its id`);
}

/** Layouts learnt so far: ids are derived from names, so one map serves every store. */
const learnt = new Map<string, readonly string[]>();

/**
 * The attributes of stored records, as objects, in the order of `texts`. Layouts not learnt yet
 * are read through `from`: the caller's transaction or `store.db`, or a Store, whose lookups'
 * connection reads committed data without waiting for a transaction (read-queries.ts). A
 * layout is committed with the first records that use it, so any committed record's is there.
 */
export async function readAttributes(
  texts: readonly string[],
  from: Kysely<Database> | Store,
): Promise<RecordAttributes[]> {
  const parsed = texts.map((text) => JSON.parse(text) as unknown);
  const unknownIds = new Set<string>();
  for (const value of parsed) {
    if (Array.isArray(value) && !learnt.has(value[0] as string)) unknownIds.add(value[0] as string);
  }
  if (unknownIds.size > 0) await learn([...unknownIds], from);
  return parsed.map((value) => attributesOf(value, (id) => learnt.get(id)));
}

/** Stored rows with their `attributes` read as objects ({@link readAttributes}), in order. */
export async function withAttributes<Row extends { attributes: string }>(
  rows: readonly Row[],
  from: Kysely<Database> | Store,
): Promise<(Omit<Row, 'attributes'> & { attributes: RecordAttributes })[]> {
  const attributes = await readAttributes(
    rows.map((row) => row.attributes),
    from,
  );
  return rows.map((row, i) => ({ ...row, attributes: attributes[i]! }));
}

/** One parsed `attributes` value as an object, the layout's names found by `namesOf`. */
export function attributesOf(value: unknown, namesOf: (id: string) => readonly string[] | undefined): RecordAttributes {
  if (!Array.isArray(value)) return value as RecordAttributes;
  const names = namesOf(value[0] as string);
  if (names === undefined || value.length !== names.length + 1) {
    throw new Error(`record attributes: no layout ${String(value[0])} of ${value.length - 1} names`);
  }
  const attributes: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) {
    const v: unknown = value[i + 1];
    if (v !== null) attributes[names[i]!] = v;
  }
  return attributes;
}

async function learn(ids: string[], from: Kysely<Database> | Store): Promise<void> {
  const db = 'reads' in from ? from.db : from;
  const query = db.selectFrom('attribute_layout').select(['id', 'names']).where('id', 'in', ids);
  const rows = 'reads' in from ? await from.reads.execute(query.compile()) : await query.execute();
  for (const row of rows) {
    const names = JSON.parse(row.names) as string[];
    if (attributeLayout(names).id !== row.id)
      throw new Error(`attribute layout ${row.id}: its names do not give its id`);
    learnt.set(row.id, names);
  }
}
