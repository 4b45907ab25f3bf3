import { CompiledQuery, type Kysely } from 'kysely';

/**
 * `db`, keeping each query it sends in `sent`, compiled as the store's dialect sends it: for
 * asking which statements a product path sent, and then how SQLite plans them.
 */
export function recordedQueries<DB>(db: Kysely<DB>): { db: Kysely<DB>; sent: CompiledQuery[] } {
  const sent: CompiledQuery[] = [];
  const recording = db.withPlugin({
    transformQuery: (args) => {
      sent.push(db.getExecutor().compileQuery(args.node, args.queryId));
      return args.node;
    },
    transformResult: async (args) => args.result,
  });
  return { db: recording, sent };
}

/** SQLite's plan of `query` on `db` (`explain query plan`), its steps one a line. */
export async function sqlitePlanOf<DB>(db: Kysely<DB>, query: CompiledQuery): Promise<string> {
  const { rows } = await db.executeQuery<{ detail: string }>(
    CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
  );
  return rows.map((r) => r.detail).join('\n');
}
