/**
 * Persons from links: union-find over the records of several batches, where a merge is refused
 * if the merged cluster would hold two different NHS numbers, two different UPNs, or two
 * different ids from the same system, and a merge by a weak link (one that neither an
 * identifier nor an officer vouches for: see hard-identifiers.ts) is refused if the two
 * clusters' NI numbers have none in common.
 * Pairwise checks are not enough: A–B and B–C may each be consistent while A and C carry
 * different NHS numbers, so the guard is on whole clusters. Links should be merged most
 * reliable first, so that a weak link is the one refused.
 */

import type { HardIdentifierConflict, WeakLinkConflict } from './hard-identifiers.js';
import type { RecordBatch } from './record.js';

/** `ambiguous`: see {@link PersonClusters.mergeTiers}. */
export type MergeRefusal = HardIdentifierConflict | WeakLinkConflict | 'ambiguous';

/** A link between two records, as {@link PersonClusters.mergeTiers} takes it. */
export interface ClusterLink {
  readonly batchA: number;
  readonly recordA: number;
  readonly batchB: number;
  readonly recordB: number;
  readonly tier: number;
  /** By names, or a score no officer has confirmed: see {@link PersonClusters.merge}. */
  readonly weak: boolean;
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

/** Hard identifiers of a cluster: at most one value per kind once the guard has held. */
interface ClusterIdentifiers {
  nhs: string;
  upn: string;
  systems: Map<string, string> | null;
  /** Distinct NI numbers: more than one only where identifier links joined records that disagree on it. */
  ni: readonly string[];
}

export class PersonClusters {
  readonly #batches: readonly RecordBatch[];
  readonly #offsets: Int32Array;
  readonly #parent: Int32Array;
  readonly #size: Int32Array;
  /** Per root, lazily: the cluster's identifiers when it has grown beyond one record. */
  readonly #identifiers = new Map<number, ClusterIdentifiers>();
  readonly #refused: RefusedMerge[] = [];

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
   * Merges the clusters of two records unless that would join conflicting hard identifiers or,
   * for a `weak` link (by names, or a score no officer has confirmed), NI numbers with none in
   * common.
   */
  merge(batchA: number, recordA: number, batchB: number, recordB: number, tier = 0, weak = true): MergeOutcome {
    const a = this.#find(this.#node(batchA, recordA));
    const b = this.#find(this.#node(batchB, recordB));
    if (a === b) return 'already-together';
    const ia = this.#identifiersOf(a);
    const ib = this.#identifiersOf(b);
    const reason = refusal(ia, ib, weak);
    if (reason !== null) {
      this.#refused.push({ batchA, recordA, batchB, recordB, tier, reason });
      return reason;
    }
    const [root, child] = (this.#size[a] as number) >= (this.#size[b] as number) ? [a, b] : [b, a];
    this.#parent[child] = root;
    this.#size[root] = (this.#size[a] as number) + (this.#size[b] as number);
    const merged: ClusterIdentifiers = {
      nhs: ia.nhs !== '' ? ia.nhs : ib.nhs,
      upn: ia.upn !== '' ? ia.upn : ib.upn,
      systems: mergeSystems(ia.systems, ib.systems),
      ni: ib.ni.length === 0 ? ia.ni : [...ia.ni, ...ib.ni.filter((ni) => !ia.ni.includes(ni))],
    };
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
        } else this.merge(l.batchA, l.recordA, l.batchB, l.recordB, tier, l.weak);
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
    let batch = 0;
    while ((this.#offsets[batch + 1] as number) <= root) batch++;
    const b = this.#batches[batch] as RecordBatch;
    const i = root - (this.#offsets[batch] as number);
    let systems: Map<string, string> | null = null;
    for (const [system, ids] of b.systemIds) {
      const id = ids[i] as string;
      if (id === '') continue;
      systems ??= new Map();
      systems.set(system, id);
    }
    const ni = b.niHash[i] as string;
    return { nhs: b.nhsHash[i] as string, upn: b.upnHash[i] as string, systems, ni: ni === '' ? [] : [ni] };
  }
}

function conflict(a: ClusterIdentifiers, b: ClusterIdentifiers): MergeRefusal | null {
  if (a.nhs !== '' && b.nhs !== '' && a.nhs !== b.nhs) return 'nhs-conflict';
  if (a.upn !== '' && b.upn !== '' && a.upn !== b.upn) return 'upn-conflict';
  if (a.systems !== null && b.systems !== null) {
    for (const [system, id] of a.systems) {
      const other = b.systems.get(system);
      if (other !== undefined && other !== id) return 'system-id-conflict';
    }
  }
  return null;
}

function refusal(a: ClusterIdentifiers, b: ClusterIdentifiers, weak: boolean): MergeRefusal | null {
  return conflict(a, b) ?? (weak ? niConflict(a, b) : null);
}

function niConflict(a: ClusterIdentifiers, b: ClusterIdentifiers): WeakLinkConflict | null {
  if (a.ni.length === 0 || b.ni.length === 0) return null;
  return a.ni.some((ni) => b.ni.includes(ni)) ? null : 'ni-conflict';
}

function mergeSystems(a: Map<string, string> | null, b: Map<string, string> | null): Map<string, string> | null {
  if (a === null) return b === null ? null : new Map(b);
  const merged = new Map(a);
  if (b !== null) for (const [system, id] of b) if (!merged.has(system)) merged.set(system, id);
  return merged;
}
