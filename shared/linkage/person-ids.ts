import { uuidV7 } from '../imports/record-ids.js';

/**
 * Person ids for the clusters of a linking pass, kept stable across passes. A person id is
 * what consents, the access log and every party's person references point at, so a cluster
 * keeps the id most of its records already hold; when a cluster splits, the largest part keeps
 * it and the others get new ones; when two merge, the id held by more records wins. An id is
 * never given to two clusters. A cluster none of whose records was linked before gets a new
 * random id.
 */
export function assignPersonIds(clusterOf: Int32Array, previous: readonly (string | null)[]): string[] {
  const votes = new Map<number, Map<string, number>>();
  for (let n = 0; n < clusterOf.length; n++) {
    const id = previous[n];
    if (id === null || id === undefined) continue;
    const cluster = clusterOf[n] as number;
    let byId = votes.get(cluster);
    if (byId === undefined) votes.set(cluster, (byId = new Map()));
    byId.set(id, (byId.get(id) ?? 0) + 1);
  }
  const claims: { cluster: number; id: string; count: number }[] = [];
  for (const [cluster, byId] of votes) for (const [id, count] of byId) claims.push({ cluster, id, count });
  claims.sort((a, b) => b.count - a.count || (a.id < b.id ? -1 : a.id > b.id ? 1 : a.cluster - b.cluster));

  const chosen = new Map<number, string>();
  const taken = new Set<string>();
  for (const claim of claims) {
    if (chosen.has(claim.cluster) || taken.has(claim.id)) continue;
    chosen.set(claim.cluster, claim.id);
    taken.add(claim.id);
  }
  const out = new Array<string>(clusterOf.length);
  for (let n = 0; n < clusterOf.length; n++) {
    const cluster = clusterOf[n] as number;
    let id = chosen.get(cluster);
    if (id === undefined) {
      id = uuidV7();
      chosen.set(cluster, id);
    }
    out[n] = id;
  }
  return out;
}
