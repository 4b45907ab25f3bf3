/**
 * American Soundex (the National Archives variant: H and W do not separate equal codes), used
 * as a blocking key so that SMITH, SMYTH and SMITHE meet in one block despite their spelling.
 */

// Codes for A..Z: vowels and Y are 0 (separators), H and W are 9 (transparent).
const CODES = '01230129022455012623019202';

/** Four-character Soundex code of the letters A–Z in `name` ("ROBERT" -> "R163"); "" if none. */
export function soundex(name: string): string {
  let out = '';
  let last = -1;
  for (let i = 0; i < name.length && out.length < 4; i++) {
    const c = name.charCodeAt(i);
    const letter = c >= 97 && c <= 122 ? c - 32 : c;
    if (letter < 65 || letter > 90) continue;
    const code = CODES.charCodeAt(letter - 65) - 48;
    if (out === '') {
      out = String.fromCharCode(letter);
      last = code;
      continue;
    }
    if (code === 9) continue;
    if (code !== 0 && code !== last) out += String(code);
    last = code;
  }
  if (out === '') return '';
  return out.padEnd(4, '0');
}
