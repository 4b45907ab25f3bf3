import type {
  AppendBlobClient,
  BlobGetPropertiesResponse,
  BlobServiceClient,
  ContainerClient,
} from '@azure/storage-blob';
import { CONTAINERS, hasErrorCode, statusCodeOf } from '../blob/blob-storage.js';
import { checkpointIdentity } from './anchored-checkpoints.js';
import { CheckpointLogError, formatCheckpointLine, readCheckpointLines, type Checkpoint } from './checkpoint.js';

/**
 * The one append blob every checkpoint went to before checkpoints were split by month. It is
 * never written again, but deployments that have it keep it (WORM: it cannot be moved or
 * replaced), so it is read first, as the period before all others.
 */
export const LEGACY_ANCHOR_BLOB = 'checkpoints.jsonl';

/** The service's own limit: an append blob takes at most 50,000 appended blocks. */
export const MAX_APPEND_BLOB_BLOCKS = 50_000;

const PREFIX = 'checkpoints';
const PERIOD_BLOB = /^checkpoints\/(\d{4}-\d{2})(?:\.([1-9]\d*))?\.jsonl$/;

/**
 * The blob of one month's checkpoints: `checkpoints/2026-12.jsonl`, and should that one ever fill,
 * `checkpoints/2026-12.2.jsonl`, `.3`, … The month is the checkpoint's own signed `time` (UTC).
 */
export function anchorBlobName(period: string, part = 1): string {
  return part === 1 ? `${PREFIX}/${period}.jsonl` : `${PREFIX}/${period}.${part}.jsonl`;
}

/** Where a blob name falls in anchoring order, or undefined for a name that is not an anchor blob. */
function orderOf(name: string): { period: string; part: number } | undefined {
  // '' sorts before every 'YYYY-MM': the single blob of the old layout came before any month.
  if (name === LEGACY_ANCHOR_BLOB) return { period: '', part: 1 };
  const m = PERIOD_BLOB.exec(name);
  return m ? { period: m[1]!, part: m[2] === undefined ? 1 : Number(m[2]) } : undefined;
}

function compareOrder(a: { period: string; part: number }, b: { period: string; part: number }): number {
  return a.period < b.period ? -1 : a.period > b.period ? 1 : a.part - b.part;
}

/** The service refuses the append because the blob has reached its block limit. */
export function isBlockCountExceeded(err: unknown): boolean {
  return hasErrorCode(err, 409, 'BlockCountExceedsLimit');
}

/** The service answered 404: the blob (or its container) is not there. */
function isGone(err: unknown): boolean {
  return statusCodeOf(err) === 404;
}

/** The blob's properties, or undefined when there is no such blob. */
async function propertiesIfExists(blob: AppendBlobClient): Promise<BlobGetPropertiesResponse | undefined> {
  try {
    return await blob.getProperties();
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/** Where {@link AnchorLog.append} put a checkpoint. */
export interface Anchored {
  /** The anchor blob the line went to. */
  blob: string;
  /**
   * This append created the container again, it having been deleted: the new one has none of the
   * immutability (WORM) policy infra/ set on the old, until an operator sets it again.
   */
  containerCreated: boolean;
}

export interface AnchorLogOptions {
  /** The container; `audit-anchors` unless a test isolates itself. */
  container?: string;
  /**
   * Blocks (checkpoints) after which a blob counts as full and the next one of the period is
   * started; the service's 50,000 by default. Lower values exist for tests.
   */
  maxBlocksPerBlob?: number;
}

/** A line of an anchor blob that is not a valid checkpoint. */
export interface DamagedAnchorLine {
  readonly blob: string;
  /** 1-based, within the blob. */
  readonly line: number;
  /** Names fields and checks only, never the line's content. */
  readonly reason: string;
  /** How many valid checkpoints were anchored before it, across all blobs. */
  readonly after: number;
}

/**
 * Signed checkpoints appended to append blobs in `audit-anchors`, one blob per calendar month
 * of the checkpoint's time (UTC), one line (one block) per checkpoint. In production that
 * container has a locked time-based immutability policy allowing protected appends: a line
 * once written can be neither changed nor deleted, even by the storage account's owner.
 *
 * One blob per month because an append blob holds at most 50,000 blocks: at one checkpoint every
 * five minutes a single blob was full after about 174 days, and a WORM blob cannot be replaced.
 * A month is at most 8,928 five-minute checkpoints. Should a month's blob fill anyway (checkpoints
 * much more often, or `maxBlocksPerBlob`), the next part of that month is started, both on a
 * committed block count at the limit and on the service's 409 BlockCountExceedsLimit.
 *
 * Reading returns every checkpoint in anchoring order: the old single blob first, then the
 * months in order, each month's parts in order.
 */
export class AnchorLog {
  /** The container the anchors are in: named by the alarms that concern it. */
  readonly containerName: string;
  private readonly maxBlocks: number;

  constructor(
    private readonly blobs: BlobServiceClient,
    options: AnchorLogOptions = {},
  ) {
    this.containerName = options.container ?? CONTAINERS.auditAnchors;
    this.maxBlocks = options.maxBlocksPerBlob ?? MAX_APPEND_BLOB_BLOCKS;
    if (!Number.isInteger(this.maxBlocks) || this.maxBlocks < 1 || this.maxBlocks > MAX_APPEND_BLOB_BLOCKS) {
      throw new RangeError(`maxBlocksPerBlob must be an integer from 1 to ${MAX_APPEND_BLOB_BLOCKS}`);
    }
  }

  private container(): ContainerClient {
    return this.blobs.getContainerClient(this.containerName);
  }

  /** The anchor blobs' names, in anchoring order; none once the container itself is gone. */
  async blobNames(): Promise<string[]> {
    const found: { name: string; order: { period: string; part: number } }[] = [];
    try {
      // One listing covers both 'checkpoints.jsonl' and 'checkpoints/…'.
      for await (const item of this.container().listBlobsFlat({ prefix: PREFIX })) {
        const order = orderOf(item.name);
        if (order) found.push({ name: item.name, order });
      }
    } catch (err) {
      // Deleted whole (possible until its WORM policy is locked), the container lost every
      // checkpoint, which the store's record names: read as a failure, verify named none of them
      // and the checkpointer raised no alarm (found by a defect hunt).
      if (!isGone(err)) throw err;
      return [];
    }
    return found.sort((a, b) => compareOrder(a.order, b.order)).map((f) => f.name);
  }

  /** Appends the checkpoint's line; answers the blob it went to, and whether the container was created again. */
  async append(checkpoint: Checkpoint): Promise<Anchored> {
    const line = Buffer.from(formatCheckpointLine(checkpoint), 'utf8');
    const period = checkpoint.time.slice(0, 7);
    let part: number;
    let containerCreated = false;
    try {
      part = await this.lastPart(period);
    } catch (err) {
      if (!isGone(err)) throw err;
      // The container is gone. The checkpointer appends only once the store's record of what was
      // anchored is all still held, so it held no checkpoint (one that did raises the alarm and
      // nothing is appended): create it again, as a restart would, rather than fail every run.
      // Created by another writer since, it is that one's to report.
      containerCreated = (await this.container().createIfNotExists()).succeeded;
      part = 1;
    }
    for (;;) {
      const name = anchorBlobName(period, part);
      const blob = this.container().getAppendBlobClient(name);
      if (await this.hasRoom(blob)) {
        try {
          await blob.appendBlock(line, line.byteLength);
          return { blob: name, containerCreated };
        } catch (err) {
          // Filled since the count was read (or the count was not to be trusted): next part. So is
          // a blob written again as another type (possible before the WORM lock, and locally),
          // which takes no appends: every run failed on it, and the log went unsigned for the rest
          // of the month (found by a defect hunt). A line it lost raised the alarm before this.
          if (!isBlockCountExceeded(err) && !hasErrorCode(err, 409, 'InvalidBlobType')) throw err;
        }
      }
      part++;
    }
  }

  /** The highest part of the period already started, or 1. */
  private async lastPart(period: string): Promise<number> {
    let last = 1;
    for await (const item of this.container().listBlobsFlat({ prefix: `${PREFIX}/${period}.` })) {
      const order = orderOf(item.name);
      if (order?.period === period && order.part > last) last = order.part;
    }
    return last;
  }

  /** Creates the blob if it is not there yet; false when it already holds its maximum of blocks. */
  private async hasRoom(blob: AppendBlobClient): Promise<boolean> {
    // Read before creating: under the locked WORM policy a Put Blob over a blob that exists may be
    // refused as immutable rather than as existing, which the SDK's createIfNotExists does not take.
    let properties = await propertiesIfExists(blob);
    if (properties === undefined) {
      try {
        await blob.createIfNotExists({ blobHTTPHeaders: { blobContentType: 'application/x-ndjson' } });
      } catch (err) {
        // Another writer created it since it was read.
        if (!hasErrorCode(err, 409, 'BlobImmutableDueToPolicy')) throw err;
      }
      properties = await blob.getProperties();
    }
    return (properties.blobCommittedBlockCount ?? 0) < this.maxBlocks;
  }

  /** Every anchored checkpoint, in the order anchored, across all periods; throws at a damaged line. */
  async read(): Promise<Checkpoint[]> {
    const { checkpoints, damaged } = await this.readAnchored();
    const first = damaged[0];
    if (first !== undefined) throw new CheckpointLogError(first.line, first.reason, first.blob);
    return checkpoints;
  }

  /**
   * Every valid anchored checkpoint in the order anchored, and every line that is not one: what
   * a verifier reads, as it must report a damaged line (a WORM line cannot be damaged by
   * accident) and still check the log against every checkpoint that is intact.
   */
  async readAnchored(): Promise<{ checkpoints: Checkpoint[]; damaged: DamagedAnchorLine[] }> {
    const checkpoints: Checkpoint[] = [];
    const damaged: DamagedAnchorLine[] = [];
    for (const blob of await this.blobNames()) {
      const read = readCheckpointLines(await this.text(blob));
      for (const d of read.damaged) {
        damaged.push({ blob, line: d.line, reason: d.reason, after: checkpoints.length + d.after });
      }
      checkpoints.push(...read.checkpoints);
    }
    return { checkpoints, damaged };
  }

  /**
   * The last valid anchored checkpoint, reading only as far back as the newest blob that holds
   * one, and the damaged lines met on the way (which {@link readAnchored} reports in full).
   */
  async latest(): Promise<Checkpoint | undefined> {
    return (await this.latestAnchored()).checkpoint;
  }

  /**
   * The last valid anchored checkpoint that `accept` takes, reading back only as far as that one,
   * with the damaged lines and the checkpoints `accept` refused met on the way. The checkpointer
   * accepts only a checkpoint signed by one of the log's own keys: the container takes appends
   * from whoever may write to it, and a stranger's line taken for the log's head would stop the
   * log being signed for good (a root the log never had is a rewrite to every later run).
   * A refused line comes back whole, so that one the log did anchor (its key version gone since)
   * can still be held against the log's root.
   */
  async latestAnchored(accept: (checkpoint: Checkpoint) => boolean | Promise<boolean> = () => true): Promise<{
    checkpoint: Checkpoint | undefined;
    damaged: Omit<DamagedAnchorLine, 'after'>[];
    refused: { blob: string; checkpoint: Checkpoint }[];
  }> {
    const names = await this.blobNames();
    const damaged: Omit<DamagedAnchorLine, 'after'>[] = [];
    const refused: { blob: string; checkpoint: Checkpoint }[] = [];
    for (let i = names.length - 1; i >= 0; i--) {
      const blob = names[i]!;
      const read = readCheckpointLines(await this.text(blob));
      damaged.push(...read.damaged.map(({ line, reason }) => ({ blob, line, reason })));
      for (let k = read.checkpoints.length - 1; k >= 0; k--) {
        const checkpoint = read.checkpoints[k]!;
        if (await accept(checkpoint)) return { checkpoint, damaged, refused };
        refused.push({ blob, checkpoint });
      }
    }
    return { checkpoint: undefined, damaged, refused };
  }

  /**
   * Whether the blob still holds the checkpoint's line as appended: false once the blob is gone,
   * or written again without it (anchored-checkpoints.ts).
   */
  async holds(blob: string, checkpoint: Checkpoint): Promise<boolean> {
    return (await this.firstMissing(blob, [checkpoint])) === undefined;
  }

  /** The first of the checkpoints whose line the blob no longer holds (all of them once it is gone). */
  async firstMissing(blob: string, checkpoints: readonly Checkpoint[]): Promise<Checkpoint | undefined> {
    const client = this.container().getAppendBlobClient(blob);
    let text: string;
    try {
      text = (await client.downloadToBuffer()).toString('utf8');
    } catch (err) {
      if (isGone(err)) return checkpoints[0];
      throw err;
    }
    const held = new Set(readCheckpointLines(text).checkpoints.map(checkpointIdentity));
    return checkpoints.find((c) => !held.has(checkpointIdentity(c)));
  }

  /** The valid checkpoints of one blob, in the order anchored; none once it is gone. */
  async checkpointsIn(blob: string): Promise<Checkpoint[]> {
    try {
      return readCheckpointLines(await this.text(blob)).checkpoints;
    } catch (err) {
      if (isGone(err)) return [];
      throw err;
    }
  }

  /**
   * The blocks the blob holds, from its properties alone (no read of its content), or 0 once it
   * is gone: each checkpoint went to its blob as one block, so a blob holding fewer blocks than
   * the store records anchoring to it has lost some.
   */
  async blockCount(blob: string): Promise<number> {
    try {
      return (await this.container().getAppendBlobClient(blob).getProperties()).blobCommittedBlockCount ?? 0;
    } catch (err) {
      if (isGone(err)) return 0;
      throw err;
    }
  }

  private async text(name: string): Promise<string> {
    return (await this.container().getAppendBlobClient(name).downloadToBuffer()).toString('utf8');
  }
}
