/**
 * Persons from links: union-find over the records of several batches, where a merge is refused
 * if the merged cluster would hold two different NHS numbers, two different UPNs, or two
 * different ids from the same system, and a merge by a weak link (one that neither an
 * identifier nor an officer vouches for: see hard-identifiers.ts) is refused if the two
 * clusters' NI numbers have none in common, or if both hold one kind of identifier only under
 * different key versions.
 * Pairwise checks are not enough: A–B and B–C may each be consistent while A and C carry
 * different NHS numbers, so the guard is on whole clusters. Links should be merged most
 * reliable first, so that a weak link is the one refused.
 *
 * Two records may also be kept apart outright ({@link PersonClusters.cannotLink}: an officer
 * rejected the pair). The guard is the same: each record holds an identifier of its own for the
 * pair, the two values different, so no merge by any link may put them in one cluster.
 */

import { identifiersDiffer } from './hard-identifiers.js';
import type { HardIdentifierConflict, WeakLinkConflict } from './hard-identifiers.js';
import type { RecordBatch } from './record.js';

/**
 * `ambiguous`: see {@link PersonClusters.mergeTiers}; `rejected-pair`: the merge would put two
 * records that must be kept apart in one cluster ({@link PersonClusters.cannotLink}).
 */
export type MergeRefusal = HardIdentifierConflict | WeakLinkConflict | 'ambiguous' | 'rejected-pair';

/** A link between two records, as {@link PersonClusters.mergeTiers} takes it. */
export interface ClusterLink {
  readonly batchA: number;
  readonly recordA: number;
  readonly batchB: number;
  readonly recordB: number;
  readonly tier: number;
  /** By names, or a score no officer has confirmed: see {@link PersonClusters.merge}. */
  readonly weak: boolean;
  /** An officer confirmed the pair: see {@link PersonClusters.merge}. */
  readonly confirmed?: boolean;
}

export interface RefusedMerge {
  readonly batchA: number;
  readonly recordA: number;
  readonly batchB: number;
  readonly recordB: number;
  readonly tier: number;
  readonly reason: MergeRefusal;
}

export type MergeOutcome = 'merged' | 'already-together' | MergeRefusal;

/**
 * Identifier values of a cluster by kind (`nhs`, `upn`, `ni`, `system:<system>`), distinct.
 * A hard kind holds one value per key version once the guard has held; several only where a
 * link an identifier or officer vouches for joined values that are not comparable (another key
 * version) or, for the NI number, that disagree.
 */
export type ClusterIdentifiers = ReadonlyMap<string, readonly string[]>;

export class PersonClusters {
  readonly #batches: readonly RecordBatch[];
  readonly #offsets: Int32Array;
  readonly #parent: Int32Array;
  readonly #size: Int32Array;
  /** Per root, lazily: the cluster's identifiers when it has grown beyond one record. */
  readonly #identifiers = new Map<number, ClusterIdentifiers>();
  readonly #refused: RefusedMerge[] = [];
  /** Per node, the pairs it may not be clustered with, as identifier kinds ({@link cannotLink}). */
  readonly #apart = new Map<number, [kind: string, value: string][]>();
  #merged = false;

  constructor(batches: readonly RecordBatch[]) {
    this.#batches = batches;
    this.#offsets = new Int32Array(batches.length + 1);
    batches.forEach((b, k) => (this.#offsets[k + 1] = (this.#offsets[k] as number) + b.size));
    const total = this.#offsets[batches.length] as number;
    this.#parent = new Int32Array(total);
    this.#size = new Int32Array(total).fill(1);
    for (let n = 0; n < total; n++) this.#parent[n] = n;
  }

  get refused(): readonly RefusedMerge[] {
    return this.#refused;
  }

  /**
   * Keeps two records apart: no merge, by a link of any tier or strength, may then put them in
   * one cluster (refused as `rejected-pair`). Before any merge.
   */
  cannotLink(batchA: number, recordA: number, batchB: number, recordB: number): void {
    if (this.#merged) throw new Error('PersonClusters: cannotLink after a merge');
    const a = this.#node(batchA, recordA);
    const b = this.#node(batchB, recordB);
    if (a === b) throw new RangeError('PersonClusters: a record cannot be kept apart from itself');
    const kind = `${APART}${Math.min(a, b)}-${Math.max(a, b)}`;
    for (const [node, value] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      const held = this.#apart.get(node);
      if (held === undefined) this.#apart.set(node, [[kind, value]]);
      else if (!held.some(([k]) => k === kind)) held.push([kind, value]);
    }
  }

  /**
   * Merges the clusters of two records unless that would join conflicting hard identifiers or,
   * for a `weak` link (by names, or a score no officer has confirmed), NI numbers with none in
   * common or identifiers that cannot be compared (another key version).
   */
  merge(
    batchA: number,
    recordA: number,
    batchB: number,
    recordB: number,
    tier = 0,
    weak = true,
    confirmed = false,
  ): MergeOutcome {
    const nodeA = this.#node(batchA, recordA);
    const nodeB = this.#node(batchB, recordB);
    const a = this.#find(nodeA);
    const b = this.#find(nodeB);
    if (a === b) return 'already-together';
    const ia = this.#identifiersOf(a);
    const ib = this.#identifiersOf(b);
    let reason = refusal(ia, ib, weak);
    // An officer's confirmation does not join NI numbers with none in common either (confirmationRefusal).
    if (reason === null && confirmed && niNumbersConflict(ia, ib)) reason = 'ni-conflict';
    if (reason !== null) {
      this.#refused.push({ batchA, recordA, batchB, recordB, tier, reason });
      return reason;
    }
    this.#merged = true;
    const [root, child] = (this.#size[a] as number) >= (this.#size[b] as number) ? [a, b] : [b, a];
    this.#parent[child] = root;
    this.#size[root] = (this.#size[a] as number) + (this.#size[b] as number);
    const merged = new Map(ia);
    for (const [kind, values] of ib) {
      const held = merged.get(kind);
      merged.set(kind, held === undefined ? values : [...held, ...values.filter((v) => !held.includes(v))]);
    }
    this.#identifiers.delete(child);
    this.#identifiers.set(root, merged);
    return 'merged';
  }

  /**
   * Merges `links`, which come most reliable first, one tier at a time. A record whose links
   * of one tier reach two clusters that cannot be one person (each could take it, but not
   * both) is a namesake of two people, and its links of that tier cannot say which: all of
   * them are refused as `ambiguous`, rather than letting the first merge win and the answer
   * turn on the order links happen to be in.
   */
  mergeTiers(links: readonly ClusterLink[]): void {
    for (let start = 0; start < links.length;) {
      const tier = (links[start] as ClusterLink).tier;
      let end = start + 1;
      while (end < links.length && (links[end] as ClusterLink).tier === tier) end++;
      const group = links.slice(start, end);
      const ambiguous = this.#ambiguousRecords(group);
      for (const l of group) {
        if (ambiguous.has(this.#node(l.batchA, l.recordA)) || ambiguous.has(this.#node(l.batchB, l.recordB))) {
          const { batchA, recordA, batchB, recordB } = l;
          this.#refused.push({ batchA, recordA, batchB, recordB, tier, reason: 'ambiguous' });
        } else this.merge(l.batchA, l.recordA, l.batchB, l.recordB, tier, l.weak, l.confirmed ?? false);
      }
      start = end;
    }
  }

  /** Nodes whose links in `group` (one tier) reach two clusters that could each, but not both, take them. */
  #ambiguousRecords(group: readonly ClusterLink[]): Set<number> {
    const reached = new Map<number, { root: number; weak: boolean }[]>();
    const reach = (from: number, to: number, weak: boolean) => {
      const root = this.#find(to);
      const list = reached.get(from);
      if (list === undefined) reached.set(from, [{ root, weak }]);
      else if (!list.some((r) => r.root === root && r.weak === weak)) list.push({ root, weak });
    };
    for (const l of group) {
      const a = this.#node(l.batchA, l.recordA);
      const b = this.#node(l.batchB, l.recordB);
      reach(a, b, l.weak);
      reach(b, a, l.weak);
    }
    const ambiguous = new Set<number>();
    for (const [node, targets] of reached) {
      if (targets.length < 2) continue;
      const own = this.#find(node);
      const ownIds = this.#identifiersOf(own);
      const feasible = targets.filter(
        (t) => t.root !== own && refusal(ownIds, this.#identifiersOf(t.root), t.weak) === null,
      );
      search: for (let x = 0; x < feasible.length; x++) {
        for (let y = x + 1; y < feasible.length; y++) {
          const tx = feasible[x]!;
          const ty = feasible[y]!;
          if (tx.root === ty.root) continue;
          const weak = tx.weak || ty.weak;
          if (refusal(this.#identifiersOf(tx.root), this.#identifiersOf(ty.root), weak) !== null) {
            ambiguous.add(node);
            break search;
          }
        }
      }
    }
    return ambiguous;
  }

  /** Cluster id (a root node number) of a record. */
  clusterOf(batch: number, record: number): number {
    return this.#find(this.#node(batch, record));
  }

  /** Number of records in a record's cluster. */
  clusterSize(batch: number, record: number): number {
    return this.#size[this.clusterOf(batch, record)] as number;
  }

  /** Cluster id of every record, batch after batch. */
  assignments(): Int32Array {
    const out = new Int32Array(this.#parent.length);
    for (let n = 0; n < out.length; n++) out[n] = this.#find(n);
    return out;
  }

  #node(batch: number, record: number): number {
    const start = this.#offsets[batch];
    const end = this.#offsets[batch + 1];
    if (start === undefined || end === undefined || record < 0 || start + record >= end) {
      throw new RangeError('PersonClusters: record out of range');
    }
    return start + record;
  }

  #find(n: number): number {
    let root = n;
    while (this.#parent[root] !== root) root = this.#parent[root] as number;
    while (this.#parent[n] !== root) {
      const next = this.#parent[n] as number;
      this.#parent[n] = root;
      n = next;
    }
    return root;
  }

  #identifiersOf(root: number): ClusterIdentifiers {
    const known = this.#identifiers.get(root);
    if (known !== undefined) return known;
    // A root not in the map is a single record: read its identifiers from its batch.
    return this.#recordIdentifiers(root);
  }

  /** One record's own identifiers, from its batch (and the pairs it is kept apart in). */
  #recordIdentifiers(root: number): ClusterIdentifiers {
    let batch = 0;
    while ((this.#offsets[batch + 1] as number) <= root) batch++;
    const b = this.#batches[batch] as RecordBatch;
    const i = root - (this.#offsets[batch] as number);
    const identifiers = new Map<string, readonly string[]>();
    const add = (kind: string, value: string) => {
      if (value !== '') identifiers.set(kind, [value]);
    };
    add('nhs', b.nhsHash[i] as string);
    add('upn', b.upnHash[i] as string);
    add('ni', b.niHash[i] as string);
    for (const [system, ids] of b.systemIds) add(`system:${system}`, ids[i] as string);
    for (const [kind, value] of this.#apart.get(root) ?? []) add(kind, value);
    return identifiers;
  }
}

/** Identifier kind of a pair of records kept apart: its two records hold 'a' and 'b'. */
const APART = 'apart:';

function hardConflictOf(kind: string): HardIdentifierConflict | 'rejected-pair' | null {
  if (kind === 'nhs') return 'nhs-conflict';
  if (kind === 'upn') return 'upn-conflict';
  if (kind.startsWith(APART)) return 'rejected-pair';
  return kind.startsWith('system:') ? 'system-id-conflict' : null;
}

/**
 * Hard identifiers that differ under one key version refuse any merge, NHS number first; for
 * a weak link, so does a kind both clusters hold with no value in common: NI numbers that
 * differ, or values under different key versions that cannot be compared.
 */
function refusal(a: ClusterIdentifiers, b: ClusterIdentifiers, weak: boolean): MergeRefusal | null {
  let hard: HardIdentifierConflict | 'rejected-pair' | null = null;
  let soft: WeakLinkConflict | null = null;
  for (const [kind, as] of a) {
    const bs = b.get(kind);
    if (bs === undefined) continue;
    let shared = false;
    let differ = false;
    for (const x of as) {
      for (const y of bs) {
        if (x === y) shared = true;
        else if (identifiersDiffer(x, y)) differ = true;
      }
    }
    const kindHard = differ ? hardConflictOf(kind) : null;
    if (kindHard !== null && (hard === null || HARD_ORDER.indexOf(kindHard) < HARD_ORDER.indexOf(hard)))
      hard = kindHard;
    if (weak && !shared && soft === null) soft = differ ? 'ni-conflict' : 'other-key-version';
  }
  return hard ?? soft;
}

/**
 * Why an officer's confirmation would not join two people holding `a` and `b` (each kind's
 * values as {@link ClusterIdentifiers}), as {@link PersonClusters.merge} refuses it: hard
 * identifiers that differ, or NI numbers with none in common. The NI numbers too, the pair's own
 * included: the review shows identification details, never an NI number, so the officer vouches
 * for names, dates and addresses only (found by reviews: a names link merged first put a
 * namesake's NI number into the person and the confirmation joined two; a Keyways pair of two NI
 * numbers, confirmed, became one person). The review queue asks it of a candidate's two people,
 * so an officer is not asked about, nor told confirmed, a pair no pass would join
 * (shared/linkage/review-queue.ts).
 */
export function confirmationRefusal(a: ClusterIdentifiers, b: ClusterIdentifiers): MergeRefusal | null {
  return refusal(a, b, false) ?? (niNumbersConflict(a, b) ? 'ni-conflict' : null);
}

/**
 * Whether both hold NI numbers, none in common, and two of them differ under one key version.
 * Asked of the NI numbers alone: other kinds that cannot be compared (an NHS number hashed
 * before a key rotation) must not hide them (found by a review).
 */
function niNumbersConflict(a: ClusterIdentifiers, b: ClusterIdentifiers): boolean {
  const as = a.get('ni');
  const bs = b.get('ni');
  if (as === undefined || bs === undefined) return false;
  let differ = false;
  for (const x of as) {
    for (const y of bs) {
      if (x === y) return false;
      if (identifiersDiffer(x, y)) differ = true;
    }
  }
  return differ;
}

const HARD_ORDER: readonly (HardIdentifierConflict | 'rejected-pair')[] = [
  'nhs-conflict',
  'upn-conflict',
  'system-id-conflict',
  'rejected-pair',
];
