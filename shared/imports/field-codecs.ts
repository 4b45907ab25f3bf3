import type { Field } from '../agreements/schema.js';
import { validateNhsNumber, validateNiNumber, validatePostcode, validateUpn } from '../domain/identifiers.js';
import { normaliseDateCell } from '../domain/normalise.js';
import type { RowReason } from './reasons.js';

/**
 * Turning one cell's text into its canonical value, per agreement field type. These are the
 * checks a row schema (row-schema.ts) is built from; each returns a reason code on failure and
 * never echoes the input.
 */

export type CanonicalValue = string | number | boolean;

/** `null`: the cell is empty (and the field optional). */
export type CellResult =
  { readonly ok: true; readonly value: CanonicalValue | null } | { readonly ok: false; readonly reason: RowReason };

export type CellCodec = (raw: string) => CellResult;

/** A cell longer than this is refused: no field in any agreement needs more, and it bounds memory. */
export const MAX_CELL_CHARS = 65_536;

/**
 * C0 controls other than tab, line feed and carriage return (which quoted CSV cells may hold),
 * and DEL. NUL never gets this far: a NUL byte refuses the whole file.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

/**
 * What a spreadsheet would evaluate. Outputs reach Excel and Power BI, so a string cell that
 * starts like a formula is refused at the door rather than stored and escaped later:
 * `=` and `@` always; `+` and `-` unless what follows is a number or a phone number
 * ("+44 20 7946 0000", "-" alone is still refused as it carries nothing).
 */
const FORMULA_START = /^[=@]/;
const SIGNED = /^[+-]/;
const NUMBER_OR_PHONE = /^[+-][0-9][0-9 ().-]*$/;

const OK_NULL: CellResult = { ok: true, value: null };
const MISSING: CellResult = { ok: false, reason: 'missing-value' };
const fail = (reason: RowReason): CellResult => ({ ok: false, reason });

const YES = new Set(['Y', 'YES', 'TRUE']);
const NO = new Set(['N', 'NO', 'FALSE']);
/**
 * One space may stand before the sign: typed by hand, or written by Excel's locale formats as a
 * non-breaking (U+00A0) or narrow no-break space (U+202F).
 */
const PERCENTAGE = /^([0-9]{1,3}(?:\.[0-9]+)?|\.[0-9]+)(?:[ \u00A0\u202F]?%)?$/;
const COUNT = /^[0-9]{1,9}$/;
const INTEGER = /^-?[0-9]{1,15}$/;
/** Printable ASCII, starting with a letter or digit: system ids are codes, not free text. */
const SYSTEM_ID = /^[A-Za-z0-9][A-Za-z0-9 ._/:-]{0,63}$/;

/** Checks every field type shares: length and control characters. `raw` is already trimmed. */
function commonChecks(raw: string): RowReason | undefined {
  if (raw.length > MAX_CELL_CHARS) return 'value-too-long';
  if (CONTROL.test(raw)) return 'control-character';
  return undefined;
}

function typedCodec(field: Field): (value: string) => CellResult {
  switch (field.type) {
    case 'string':
      return (v) => {
        if (FORMULA_START.test(v) || (SIGNED.test(v) && !NUMBER_OR_PHONE.test(v))) return fail('formula-like-value');
        return { ok: true, value: v };
      };
    case 'date':
      return (v) => {
        const r = normaliseDateCell(v);
        return r.ok
          ? { ok: true, value: r.value }
          : fail(r.reason === 'date-calendar' ? 'date-calendar' : 'date-format');
      };
    case 'flag':
      return (v) => {
        const u = v.toUpperCase();
        if (YES.has(u)) return { ok: true, value: true };
        if (NO.has(u)) return { ok: true, value: false };
        return fail('flag-value');
      };
    case 'percentage':
      return (v) => {
        const m = PERCENTAGE.exec(v);
        if (m === null) return fail('percentage-format');
        const n = Number(m[1]);
        return n <= 100 ? { ok: true, value: n } : fail('percentage-range');
      };
    case 'count':
      return (v) => (COUNT.test(v) ? { ok: true, value: Number(v) } : fail('count-format'));
    case 'integer':
      return (v) => (INTEGER.test(v) ? { ok: true, value: Number(v) } : fail('integer-format'));
    case 'enum': {
      const byUpper = new Map((field.values ?? []).map((value) => [value.toUpperCase(), value]));
      return (v) => {
        const value = byUpper.get(v.toUpperCase());
        return value === undefined ? fail('enum-value') : { ok: true, value };
      };
    }
    case 'postcode':
      return (v) => {
        const r = validatePostcode(v);
        return r.ok ? { ok: true, value: r.value } : fail('postcode-format');
      };
    case 'nhs-number':
      return (v) => {
        const r = validateNhsNumber(v);
        if (r.ok) return { ok: true, value: r.value };
        return fail(r.reason === 'nhs-number-missing' ? 'nhs-number-format' : r.reason);
      };
    case 'upn':
      return (v) => {
        const r = validateUpn(v);
        if (r.ok) return { ok: true, value: r.value };
        return fail(r.reason === 'upn-missing' ? 'upn-format' : r.reason);
      };
    case 'ni-number':
      return (v) => {
        const r = validateNiNumber(v);
        // The suffix is kept for display; matching hashes the first eight characters only.
        if (r.ok) return { ok: true, value: r.value + (r.suffix ?? '') };
        return fail(r.reason === 'ni-number-missing' ? 'ni-number-format' : r.reason);
      };
    case 'system-id':
      return (v) => (SYSTEM_ID.test(v) ? { ok: true, value: v } : fail('system-id-format'));
  }
}

/**
 * The codec of one agreement field: trims the cell, applies the shared checks, treats an empty
 * cell as absent (an error when the field is required) and then the type's own rule.
 */
export function codecFor(field: Field): CellCodec {
  const typed = typedCodec(field);
  const required = field.required;
  return (raw) => {
    const v = raw.trim();
    if (v.length === 0) return required ? MISSING : OK_NULL;
    const common = commonChecks(v);
    if (common !== undefined) return fail(common);
    return typed(v);
  };
}
