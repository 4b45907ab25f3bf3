/**
 * Canonical bytes of one access-log entry: the exact input of the entry's Merkle leaf
 * hash (merkle.ts: SHA-256(0x00 || encodeEntry(entry))).
 *
 * Why canonical: the log's integrity is checked by recomputing leaf hashes from the
 * stored entries - by this service, by a data protection officer's CLI, and by
 * partners with their own tools. All of them must turn the same entry into the same
 * bytes, whatever language or JSON library they use. The encoding is therefore JSON
 * with exactly these rules (a subset of RFC 8785, the JSON Canonicalization Scheme,
 * so a JCS library produces identical bytes for every valid entry):
 *
 * 1. Object keys sorted by UTF-16 code unit order (for our ASCII field names, plain
 *    alphabetical order); every field present, absent values as `null`.
 * 2. No whitespace anywhere outside strings.
 * 3. Arrays kept in the order given: the order of roles, datasets and fields is part
 *    of what was recorded.
 * 4. Strings escaped as ECMAScript JSON.stringify does: `"` and `\` escaped, control
 *    characters as \b \f \n \r \t or \u00XX (lower-case hex), everything else
 *    (including non-ASCII) written literally.
 * 5. Numbers only as safe integers, written in plain decimal.
 * 6. The result encoded as UTF-8, no byte-order mark, no trailing newline.
 *
 * The schema also pins `time` to the exact shape Date.prototype.toISOString produces
 * (millisecond precision, UTC "Z"), so a timestamp that round-trips through a database
 * datetime column comes back as the same string and the same hash.
 */
import { z } from 'zod';
import { leafHash } from './merkle.js';

const nonEmpty = z.string().min(1);

/**
 * Millisecond-precision UTC timestamp, exactly as Date.prototype.toISOString writes
 * it. zod's datetime pattern also checks the calendar (month lengths, leap years),
 * so every accepted string round-trips through Date unchanged (pinned by tests).
 */
const canonicalTimestamp = z.iso.datetime({ precision: 3 });

/**
 * One access-log entry: who (party, client, roles) did what (action, purpose) to whom
 * (subjectRef, a pseudonymous reference, null when a request matched nobody), over
 * which data (datasets, fields), with which outcome (decision, reasonCode).
 *
 * Strict: unknown keys are rejected, because a field the schema drops would be
 * stored but not hashed, i.e. silently unprotected.
 */
export const accessLogEntrySchema = z.strictObject({
  /** 1-based position in the log; the Merkle leaf index is seq - 1. */
  seq: z.int().positive(),
  time: canonicalTimestamp,
  requestId: nonEmpty,
  partyId: nonEmpty,
  clientId: nonEmpty,
  roles: z.array(nonEmpty),
  purpose: nonEmpty,
  action: nonEmpty,
  subjectRef: nonEmpty.nullable(),
  datasets: z.array(nonEmpty),
  fields: z.array(nonEmpty),
  decision: nonEmpty,
  reasonCode: nonEmpty,
});

export type AccessLogEntry = z.infer<typeof accessLogEntrySchema>;

/**
 * Raised when an entry does not match the schema. The message lists field paths and
 * issue codes only - never the offending values, which may be personal data.
 */
export class AccessLogEntryError extends Error {
  readonly issues: readonly { path: string; code: string }[];
  constructor(issues: readonly { path: string; code: string }[]) {
    super(`access-log entry is invalid: ${issues.map((i) => `${i.path || '(root)'} ${i.code}`).join(', ')}`);
    this.name = 'AccessLogEntryError';
    this.issues = issues;
  }
}

function parseEntry(value: unknown): AccessLogEntry {
  const result = accessLogEntrySchema.safeParse(value);
  if (!result.success) {
    throw new AccessLogEntryError(
      result.error.issues.map((issue) => ({ path: issue.path.join('.'), code: issue.code })),
    );
  }
  return result.data;
}

/**
 * Field names in UTF-16 code unit order (RFC 8785 §3.2.3; for these ASCII names,
 * alphabetical). Given as JSON.stringify's replacer, this list fixes the key order.
 */
const SORTED_KEYS: readonly string[] = Object.keys(accessLogEntrySchema.shape).sort();

/**
 * Canonical JSON of a schema-valid entry (rules 1-5 above).
 *
 * JSON.stringify with an array replacer writes exactly the listed keys in the listed
 * order, with no whitespace - and the schema guarantees those are all the keys there
 * are, that values are only strings, string arrays, null and a safe integer, so its
 * string escaping and integer formatting are all that remain. It is several times
 * faster than a hand-written recursive encoder, which matters when a full-log
 * verification re-encodes every entry.
 */
function canonicalJson(entry: AccessLogEntry): string {
  return JSON.stringify(entry, SORTED_KEYS as string[]);
}

/**
 * Canonical bytes of an entry, validated against accessLogEntrySchema first so that
 * only well-formed entries are ever committed to the tree.
 * @throws AccessLogEntryError when the entry does not match the schema.
 */
export function encodeEntry(entry: AccessLogEntry): Buffer {
  return Buffer.from(canonicalJson(parseEntry(entry)), 'utf8');
}

/**
 * Parses stored canonical bytes back into an entry, and refuses bytes that are valid
 * JSON but not in canonical form: such bytes would hash differently from what an
 * independent verifier recomputes from the parsed entry.
 * @throws AccessLogEntryError when the bytes are not a canonical, schema-valid entry.
 */
export function decodeEntry(bytes: Uint8Array): AccessLogEntry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new AccessLogEntryError([{ path: '', code: 'invalid_json' }]);
  }
  const entry = parseEntry(parsed);
  if (!encodeEntry(entry).equals(bytes)) {
    throw new AccessLogEntryError([{ path: '', code: 'not_canonical' }]);
  }
  return entry;
}

/** Merkle leaf hash of an entry: SHA-256(0x00 || encodeEntry(entry)). */
export function entryLeafHash(entry: AccessLogEntry): Buffer {
  return leafHash(encodeEntry(entry));
}

/** Printable ASCII without `"` or `\\` needs no escaping; anything else goes through JSON.stringify. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const q = (value: string) => (PLAIN.test(value) ? `"${value}"` : JSON.stringify(value));
const list = (values: readonly string[]) => {
  let out = '[';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + q(values[i]!);
  return out + ']';
};

/**
 * The same bytes as {@link encodeEntry} for every valid entry, without re-validating: the keys
 * are written in their sorted order by hand. For verification, which re-encodes every row of
 * the log; an entry tampered into an invalid shape still encodes to bytes whose hash differs
 * from the recorded one, so skipping validation cannot hide a change.
 */
export function encodeEntryUnchecked(e: AccessLogEntry): Buffer {
  return Buffer.from(
    `{"action":${q(e.action)},"clientId":${q(e.clientId)},"datasets":${list(e.datasets)},"decision":${q(e.decision)},` +
      `"fields":${list(e.fields)},"partyId":${q(e.partyId)},"purpose":${q(e.purpose)},"reasonCode":${q(e.reasonCode)},` +
      `"requestId":${q(e.requestId)},"roles":${list(e.roles)},"seq":${String(e.seq)},` +
      `"subjectRef":${e.subjectRef === null ? 'null' : q(e.subjectRef)},"time":${q(e.time)}}`,
    'utf8',
  );
}
