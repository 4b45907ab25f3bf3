/** A thread for request-worker.test.ts: answers each message with it, and exits on 'exit'. */
import { parentPort } from 'node:worker_threads';

parentPort!.on('message', (message: string) => {
  if (message === 'exit') process.exit(3);
  parentPort!.postMessage(`echo:${message}`);
});
