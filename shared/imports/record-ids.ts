import { randomFillSync } from 'node:crypto';

/**
 * Ids of what an import creates.
 *
 * A record's id is its run and row (`<runId>:<row, 10 digits>`): a retried load of the same run
 * writes the same ids, and one run's ids are adjacent in the primary-key index, so a million
 * inserts append to it instead of scattering over it.
 *
 * A person id is a random UUIDv7 (RFC 9562): unguessable, but led by the time so that the
 * person index also grows at its end.
 */
export function recordId(runId: string, row: number): string {
  return `${runId}:${String(row).padStart(10, '0')}`;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const POOL_SIZE = 16 * 1024;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;

export function uuidV7(now = Date.now()): string {
  if (offset + 10 > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const r = offset;
  offset += 10;
  const ms = now.toString(16).padStart(12, '0').slice(-12);
  const b6 = HEX[0x70 | (pool[r]! & 0x0f)]!;
  const b8 = HEX[0x80 | (pool[r + 2]! & 0x3f)]!;
  let tail = '';
  for (let i = 3; i < 9; i++) tail += HEX[pool[r + i]!]!;
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-${b6}${HEX[pool[r + 1]!]!}-${b8}${HEX[pool[r + 9]!]!}-${tail}`;
}
