/**
 * Worker-thread entry of the WAL checkpointer (see wal-checkpointer.ts for why): a connection of
 * its own to each SQLite file, and a PASSIVE checkpoint of each on a timer. PASSIVE copies what
 * it can without waiting for or blocking the writers and readers of the file.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import type { WalCheckpointOptions } from './wal-checkpointer.js';

const options = workerData as WalCheckpointOptions;
const files = options.files.map((file) => {
  const db = new SqliteDatabase(file);
  db.pragma('wal_autocheckpoint = 0');
  return db;
});

const timer = setInterval(() => {
  for (const db of files) {
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy or locked: the next round copies what this one could not.
    }
  }
}, options.intervalMs);

parentPort!.on('message', (message: 'close') => {
  if (message !== 'close') return;
  clearInterval(timer);
  // A last checkpoint; closing the last connection to a file also checkpoints it.
  for (const db of files) db.close();
  parentPort!.postMessage('closed');
});
