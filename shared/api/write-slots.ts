/**
 * How many write-ahead changes (request-pipeline.ts) may hold a store transaction at once. Each
 * holds a connection while it waits for its access-log entry, and on SQL Server the log writer
 * needs a connection from the same pool (10 by default): were every connection held by a change
 * waiting for the log, the log could never be written and every one of them would time out.
 * Keeping changes to fewer than the pool leaves connections for the log and for lookups. (On
 * SQLite the store's one connection serialises them anyway.) Writes are rare next to lookups,
 * so a queue here costs nothing in practice.
 */
export const WRITE_AHEAD_SLOTS = 4;

/** A counting semaphore: at most `size` holders, the rest wait in arrival order. */
export class WriteSlots {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number = WRITE_AHEAD_SLOTS) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.held >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.held++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next in line, or is given back.
      if (next) next();
      else this.held--;
    }
  }
}
