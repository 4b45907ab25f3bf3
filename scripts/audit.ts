/**
 * `npm run audit -- verify`      recompute the access log and check every anchored checkpoint
 * `npm run audit -- checkpoint`  sign and anchor the log's current size and root now
 * `npm run audit -- public-key [keyId]`  print the checkpoints' Ed25519 public key (PEM), of the
 *                                key in force or of `audit-signing-key/<version>`, for
 *                                `scripts/verify-proof.mjs --public-key` on another machine
 *
 * Runs against the configured store and blob storage (local settings by default: start the
 * local host first so Azurite is up). Exit code 1
 * when the log does not verify, so it can run from a scheduler.
 */
import type { LogProblem } from '../shared/audit/verify-log.js';
import type { Services } from '../shared/services.js';
import { failureLine, parseOptions, refuseUsage } from './cli.js';

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** One problem verify found, as the report lists it: where, and what of the anchors it names. */
const problemLine = (p: LogProblem): string =>
  `  ${p.kind} at seq ${p.seq}${p.checkpoint === undefined ? '' : ` (checkpoint #${p.checkpoint})`}${p.keyId === undefined ? '' : `: ${count(p.checkpoints ?? 1, 'checkpoint', 'checkpoints')} under ${p.keyId}, a version that is gone`}${p.anchor === undefined ? '' : 'line' in p.anchor ? `: ${p.anchor.blob} line ${p.anchor.line}, ${p.anchor.reason}` : `: ${p.anchor.blob}, ${count(p.anchor.checkpoints, 'checkpoint', 'checkpoints')} gone`}\n`;

const USAGE = 'npm run audit -- verify | checkpoint | public-key [keyId]';
// Parsed whole, strict, as the other scripts parse theirs: reading the first argument alone let
// `checkpoint --dry-run` sign and anchor a checkpoint, and `public-key --pem` look for a key
// version named `--pem`.
const { positionals } = parseOptions('audit', USAGE, { allowPositionals: true, options: {} });
const [command, keyIdGiven, ...beyond] = positionals;
// Named before the usage line, as the other scripts name what they cannot run: the usage line
// alone left `npm run audit -- verfy` to be read against it for the typo.
if (command === undefined) refuseUsage('audit', 'a command is needed', USAGE);
if (command !== 'verify' && command !== 'checkpoint' && command !== 'public-key')
  refuseUsage('audit', `unknown command '${command}'`, USAGE);
const stray = command === 'public-key' ? beyond[0] : keyIdGiven;
if (stray !== undefined) refuseUsage('audit', `unexpected argument '${stray}'`, USAGE);
// The stack's graph (the store, its drivers, every migration) is loaded only once the command
// line is read: a mistyped option or --help is answered without it, as token's is (it took tsx
// some 2 s to load first).
const { checkpointNow, verifyLog } = await import('../shared/audit/audit-service.js');
const { currentSigningKey, publicKeysFor } = await import('../shared/audit/signing-keys.js');
const { onlyUnverifiable } = await import('../shared/audit/verify-log.js');
const { stackServices } = await import('./stack-services.js');
let services: Services | undefined;
try {
  services = await stackServices();
  if (command === 'public-key') {
    const keyId = keyIdGiven ?? (await currentSigningKey(services.secrets)).keyId;
    const key = (await publicKeysFor(services.secrets, [keyId])).get(keyId);
    if (key === undefined) {
      // A key version typed wrong is a command line it cannot run, not a log that fails to verify
      // (exit 1, for a scheduler): an id the store does not hold, followed by the usage line as
      // relink's unknown --agreement is. The key in force gone between two reads was typed by no
      // one: named alone. refuseUsage exits at once, past the finally below.
      await services.close();
      services = undefined;
      refuseUsage('audit', `no signing key ${keyId}`, keyIdGiven === undefined ? undefined : USAGE);
    } else {
      process.stdout.write(key.export({ type: 'spki', format: 'pem' }).toString());
    }
  } else if (command === 'checkpoint') {
    const outcome = await checkpointNow(services);
    if (outcome.alarm) {
      process.stderr.write(
        'ALARM: the log does not extend the last anchored checkpoint, an entry written since no longer hashes as written, a checkpoint anchored before is gone from its anchor blob, or a planted table hides the log; nothing was signed\n',
      );
      process.exitCode = 1;
    } else {
      process.stdout.write(
        outcome.checkpoint
          ? `checkpoint: ${count(outcome.checkpoint.treeSize, 'entry', 'entries')}, root ${outcome.checkpoint.rootHash}\n`
          : outcome.clockBehind
            ? "nothing signed: this machine's clock is behind the last checkpoint's time; the next run signs once it has passed\n"
            : outcome.emptyLog
              ? 'nothing signed: the access log holds no entries yet, and a checkpoint of none would prove nothing\n'
              : 'no new entries since the last checkpoint\n',
      );
      if (outcome.containerCreated !== undefined) {
        process.stderr.write(
          `ALARM: the anchor container ${outcome.containerCreated} was gone and has been created again without its immutability (WORM) policy: re-apply it (infra/README.md, step 6)\n`,
        );
        process.exitCode = 1;
      }
    }
  } else {
    const started = performance.now();
    const report = await verifyLog(services);
    const seconds = (performance.now() - started) / 1000;
    // Checkpoints under a signing key version that is gone are unverifiable, not forged (README):
    // the run said FAILED and named their tree size as the first bad sequence number, where no
    // entry was found altered, and a DPO read a key rotation as tampering.
    const unverifiable = onlyUnverifiable(report);
    process.stdout.write(
      `${report.ok ? 'OK' : unverifiable ? 'UNVERIFIABLE' : 'FAILED'}: ${count(report.entries, 'entry', 'entries')}, ${count(report.checkpoints, 'checkpoint', 'checkpoints')}, root ${report.rootHash} (${seconds.toFixed(2)} s)\n`,
    );
    const unsigned = report.entries - report.signedEntries;
    if (report.ok && unsigned > 0) {
      process.stdout.write(
        `${count(unsigned, 'entry', 'entries')} after the last checkpoint: chained, not yet signed (the next checkpoint covers them)\n`,
      );
    }
    if (report.subjectIndexFilled > 0) {
      process.stdout.write(
        `${count(report.subjectIndexFilled, 'row', 'rows')} of the index of people an entry about several names filled: subject access requests answered before now may have missed those entries\n`,
      );
    }
    if (!report.ok) {
      process.stdout.write(
        unverifiable
          ? 'no entry found altered; checkpoints signed by a key version that is gone cannot be checked:\n'
          : `first bad sequence number: ${report.firstBadSeq}\n`,
      );
      for (const p of report.problems) process.stdout.write(problemLine(p));
      process.exitCode = 1;
    } else if (report.problems.length > 0) {
      // A line appended again word for word fails nothing (verify-log.ts), but someone wrote to
      // the anchor container: said, so the DPO can ask who.
      process.stdout.write(
        'anchor lines repeating an earlier checkpoint word for word (appended again to the anchor container; not a regression):\n',
      );
      for (const p of report.problems) process.stdout.write(problemLine(p));
    }
  }
} catch (err) {
  process.stderr.write(failureLine('audit', err));
  process.exitCode = 1;
} finally {
  await services?.close();
}
