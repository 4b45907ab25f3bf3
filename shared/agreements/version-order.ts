/**
 * The order of two revisions of one agreement file (`version`, schema.ts: bumped on every
 * change): negative where `a` is older, positive where newer, 0 where the same. Read as dotted
 * numbers (`1.2.0`, `v7`; a missing part is 0, so `1.2` is `1.2.0`); undefined where either is not
 * one, for a caller to treat as no order known. A string order would put `1.10.0` before `1.9.0`.
 */
export function compareAgreementVersions(a: string, b: string): number | undefined {
  const x = dottedNumbers(a);
  const y = dottedNumbers(b);
  if (x === undefined || y === undefined) return undefined;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function dottedNumbers(version: string): number[] | undefined {
  const match = /^v?(\d+(?:\.\d+)*)$/i.exec(version.trim());
  return match === null ? undefined : match[1]!.split('.').map(Number);
}
