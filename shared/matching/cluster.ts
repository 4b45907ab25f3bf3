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

export type MergeRefusal = HardIdentifierConflict | WeakLinkConflict;

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
    const reason = conflict(ia, ib) ?? (weak ? niConflict(ia, ib) : null);
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
