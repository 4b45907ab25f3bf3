import { createQueryId, type Compilable, type CompiledQuery, type Kysely } from 'kysely';
import type { Store } from '../store/database.js';
import type { Database } from '../store/schema.js';

interface CompiledShape<Row> {
  query: CompiledQuery<Row>;
  /** For each parameter of the compiled query, the index of the value that fills it (-1: a constant of the query). */
  slots: number[];
}

/** Shapes are few (counts of hashes and datasets); the bound only guards against a caller that varies them without end. */
const MAX_SHAPES = 256;

/**
 * The lookups on the API's request path built and compiled once per shape, not once per request:
 * for a point lookup Kysely's builder and compiler cost more than the database's own work. The
 * query is built with placeholder values and compiled by the store's own Kysely, so SQLite and
 * SQL Server each get their own SQL; a run binds the real values where the placeholders were.
 * The shape key must name everything that changes the SQL text other than the values (which
 * column, how many list items); the values themselves are always parameters.
 */
export class QueryShapes<Row, Shape extends string = string> {
  private readonly byStore = new WeakMap<Kysely<Database>, Map<string, CompiledShape<Row>>>();

  constructor(
    private readonly build: (db: Kysely<Database>, shape: Shape, values: readonly string[]) => Compilable<Row>,
  ) {}

  /** Runs on the store's read connection (read-queries.ts): committed data only. */
  async execute(store: Store, shape: Shape, values: readonly unknown[]): Promise<Row[]> {
    const { db } = store;
    let shapes = this.byStore.get(db);
    if (!shapes) {
      shapes = new Map();
      this.byStore.set(db, shapes);
    }
    const key = `${shape}/${values.length}`;
    let compiled = shapes.get(key);
    if (!compiled) {
      if (shapes.size >= MAX_SHAPES) shapes.clear();
      compiled = compile(this.build(db, shape, placeholders(values.length)), values.length);
      shapes.set(key, compiled);
    }
    const { query, slots } = compiled;
    const parameters = slots.map((slot, i) => (slot < 0 ? query.parameters[i] : values[slot]));
    return store.reads.execute<Row>({ ...query, queryId: createQueryId(), parameters });
  }
}

const PLACEHOLDER_PREFIX = '\u0000lintel-query-value-';

function placeholders(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${PLACEHOLDER_PREFIX}${i}\u0000`);
}

function compile<Row>(compilable: Compilable<Row>, valueCount: number): CompiledShape<Row> {
  const query = compilable.compile();
  const slots = query.parameters.map((p) =>
    typeof p === 'string' && p.startsWith(PLACEHOLDER_PREFIX) ? Number(p.slice(PLACEHOLDER_PREFIX.length, -1)) : -1,
  );
  // A value written into the SQL text, or one the query never binds, would run the wrong query.
  if (query.sql.includes(PLACEHOLDER_PREFIX) || new Set(slots.filter((s) => s >= 0)).size !== valueCount) {
    throw new Error('A query shape must bind every value as a parameter');
  }
  return { query, slots };
}
