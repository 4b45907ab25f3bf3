/**
 * String similarity measures for the probabilistic matching tier. The linker calls these
 * millions of times per run, so they work on UTF-16 code units (inputs are normalised names,
 * see `normaliseName`) and reuse module-level typed-array scratch buffers instead of allocating
 * per call. That is safe because the functions are synchronous and never re-enter each other.
 */

let matchedA = new Uint8Array(64);
let matchedB = new Uint8Array(64);
let rowPrevPrev = new Int32Array(64);
let rowPrev = new Int32Array(64);
let rowCurr = new Int32Array(64);

function capacityFor(length: number): number {
  let capacity = 64;
  while (capacity < length) capacity *= 2;
  return capacity;
}

function ensureMatchBuffers(la: number, lb: number): void {
  if (matchedA.length < la) matchedA = new Uint8Array(capacityFor(la));
  if (matchedB.length < lb) matchedB = new Uint8Array(capacityFor(lb));
}

function ensureRowBuffers(width: number): void {
  if (rowCurr.length >= width) return;
  const capacity = capacityFor(width);
  rowPrevPrev = new Int32Array(capacity);
  rowPrev = new Int32Array(capacity);
  rowCurr = new Int32Array(capacity);
}

/**
 * Jaro similarity in [0, 1]: characters match when equal and no further apart than
 * floor(max(|a|, |b|) / 2) - 1; half the out-of-order matches count as transpositions.
 * Two empty strings are identical (1); one empty string matches nothing (0).
 */
export function jaro(a: string, b: string): number {
  const la = a.length;
  const lb = b.length;
  if (la === 0 && lb === 0) return 1;
  if (la === 0 || lb === 0) return 0;
  if (a === b) return 1;
  ensureMatchBuffers(la, lb);
  const flagsA = matchedA;
  const flagsB = matchedB;
  flagsA.fill(0, 0, la);
  flagsB.fill(0, 0, lb);

  const window = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const code = a.charCodeAt(i);
    const hi = Math.min(lb - 1, i + window);
    for (let j = Math.max(0, i - window); j <= hi; j++) {
      if (flagsB[j] === 0 && b.charCodeAt(j) === code) {
        flagsA[i] = 1;
        flagsB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;

  let halfTranspositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (flagsA[i] === 0) continue;
    while (flagsB[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) halfTranspositions++;
    k++;
  }
  const transpositions = halfTranspositions / 2;
  return (matches / la + matches / lb + (matches - transpositions) / matches) / 3;
}

const WINKLER_PREFIX_SCALE = 0.1;
const WINKLER_MAX_PREFIX = 4;
/** Winkler's boost threshold: the prefix bonus only lifts pairs already similar by Jaro. */
const WINKLER_BOOST_THRESHOLD = 0.7;

/**
 * Jaro–Winkler similarity in [0, 1] as Winkler defined it for record linkage: the Jaro score
 * plus 0.1 per character of common prefix (at most 4), applied only when Jaro exceeds 0.7.
 * E.g. MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.840, DIXON/DICKSONX 0.813.
 */
export function jaroWinkler(a: string, b: string): number {
  const j = jaro(a, b);
  if (j <= WINKLER_BOOST_THRESHOLD) return j;
  const limit = Math.min(WINKLER_MAX_PREFIX, a.length, b.length);
  let prefix = 0;
  while (prefix < limit && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return j + prefix * WINKLER_PREFIX_SCALE * (1 - j);
}

/**
 * Damerau–Levenshtein distance in its optimal string alignment (OSA) form: insertions,
 * deletions, substitutions and transpositions of adjacent characters each cost 1, but no
 * substring is edited twice. It therefore differs from the unrestricted distance on cases like
 * CA -> ABC (OSA 3, unrestricted 2), which do not arise from a single keying slip; OSA needs
 * three rows instead of an alphabet-indexed table, which keeps it allocation-free.
 */
export function damerauLevenshtein(a: string, b: string): number {
  // A shared prefix or suffix never changes the OSA distance, and names often share both.
  let start = 0;
  let endA = a.length;
  let endB = b.length;
  while (start < endA && start < endB && a.charCodeAt(start) === b.charCodeAt(start)) start++;
  while (endA > start && endB > start && a.charCodeAt(endA - 1) === b.charCodeAt(endB - 1)) {
    endA--;
    endB--;
  }
  const la = endA - start;
  const lb = endB - start;
  if (la === 0) return lb;
  if (lb === 0) return la;

  ensureRowBuffers(lb + 1);
  let prevPrev = rowPrevPrev;
  let prev = rowPrev;
  let curr = rowCurr;
  for (let j = 0; j <= lb; j++) prev[j] = j;

  let lastA = -1;
  for (let i = 1; i <= la; i++) {
    const ca = a.charCodeAt(start + i - 1);
    curr[0] = i;
    let lastB = -1;
    for (let j = 1; j <= lb; j++) {
      const cb = b.charCodeAt(start + j - 1);
      const substitution = (prev[j - 1] ?? 0) + (ca === cb ? 0 : 1);
      const deletion = (prev[j] ?? 0) + 1;
      const insertion = (curr[j - 1] ?? 0) + 1;
      let best = substitution < deletion ? substitution : deletion;
      if (insertion < best) best = insertion;
      if (ca === lastB && cb === lastA && i > 1 && j > 1) {
        const transposition = (prevPrev[j - 2] ?? 0) + 1;
        if (transposition < best) best = transposition;
      }
      curr[j] = best;
      lastB = cb;
    }
    lastA = ca;
    const spare = prevPrev;
    prevPrev = prev;
    prev = curr;
    curr = spare;
  }
  return prev[lb] ?? 0;
}

/**
 * 1 - distance / longer length, in [0, 1], using {@link damerauLevenshtein} (OSA); 1 for two
 * empty strings.
 */
export function normalisedEditSimilarity(a: string, b: string): number {
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1;
  return 1 - damerauLevenshtein(a, b) / longer;
}
