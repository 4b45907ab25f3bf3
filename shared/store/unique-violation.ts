/**
 * Whether a write failed on a primary key or unique index, on either engine: SQLite's
 * constraint codes, SQL Server's errors 2627 (primary key or unique constraint) and 2601 (unique
 * index). A writer that raced another to the same key reads this as "taken", not as a fault.
 */
export function isUniqueViolation(err: unknown): boolean {
  const { code, number } = (err ?? {}) as { code?: unknown; number?: unknown };
  return (
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || number === 2627 || number === 2601
  );
}
