/**
 * Worker-thread entry of the WAL checkpointer (see wal-checkpointer.ts for why): a connection of
 * its own to each SQLite file, and a PASSIVE checkpoint of each on a timer. PASSIVE copies what
 * it can without waiting for or blocking the writers and readers of the file.
 *
 * Each round also flushes a WAL that has been written since the last round to disk (fdatasync),
 * once it is big enough to matter. A long transaction, such as an import's snapshot, spills
 * hundreds of megabytes of pages into the WAL before it commits; left in the page cache, they
 * all reach the disk in the commit's own sync. Flushed as they come, the commit syncs only the
 * last of them. This changes nothing SQLite relies on: the commit still syncs (synchronous =
 * FULL), this only makes that sync shorter. SQLite puts no lock on the WAL file itself (WAL mode
 * locks bytes of the -shm file), so opening and closing it here cannot release a lock of the
 * connections' (a process's POSIX locks on a file go with any close of that file).
 */
import { closeSync, fdatasyncSync, openSync, statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import type { WalCheckpointOptions, WalCheckpointThreadMessage } from './wal-checkpointer.js';

/** A WAL smaller than this is left to the commit's own sync, which is quick for it. */
const FLUSH_FROM_BYTES = 8 * 1024 * 1024;

const options = workerData as WalCheckpointOptions;
const files = options.files.map((file) => {
  const db = new SqliteDatabase(file);
  db.pragma('wal_autocheckpoint = 0');
  return { db, wal: `${file}-wal`, flushedAt: 0 };
});
const post = (message: WalCheckpointThreadMessage) => parentPort!.postMessage(message);
// Until now there was nothing to close: the store stops a thread that has not said this (wal-checkpointer.ts).
post('open');

/** fdatasync of the WAL if it was written since the last flush (by its modification time). */
function flushWal(file: (typeof files)[number]): void {
  const stat = statSync(file.wal, { throwIfNoEntry: false });
  if (stat === undefined || stat.size < FLUSH_FROM_BYTES || stat.mtimeMs === file.flushedAt) return;
  const fd = openSync(file.wal, 'r');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  file.flushedAt = stat.mtimeMs;
}

const timer = setInterval(() => {
  for (const file of files) {
    try {
      file.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or locked: the next round copies what this one could not.
    }
    try {
      flushWal(file);
    } catch {
      // Gone or unreadable: the commit syncs it anyway.
    }
  }
}, options.intervalMs);

parentPort!.on('message', (message: 'close') => {
  if (message !== 'close') return;
  clearInterval(timer);
  // A last checkpoint; closing the last connection to a file also checkpoints it.
  for (const file of files) file.db.close();
  post('closed');
});
