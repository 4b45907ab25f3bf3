/**
 * Partner extracts as partners would upload them: one CSV per (party, dataset), written from a
 * synthetic population with each source's realistic errors (typos, nicknames, swapped names,
 * former and hyphenated surnames, transposed dates of birth, moved postcodes, missing and
 * mistyped identifiers — see sources.ts), and the truth of which person every row describes.
 *
 * The columns of an extract are exactly what the agreement lets that party supply for that
 * dataset, so every generated file passes the import's header checks; the values are made in
 * each field's type. Rows are written in chunks, so a million-row extract never exists in
 * memory as a whole.
 */
import type { AgreementSet } from '../agreements/agreement-set.js';
import type { Field } from '../agreements/schema.js';
import { identifierKind, storagePlanFor, type StoragePlan } from '../imports/storage-plan.js';
import type { ErrorProfileName } from './error-profiles.js';
import { dayOfIsoDate, FEMALE, type Population } from './people.js';
import { SeededRandom } from './random.js';
import { deriveSource, formatDate, type SourceSpec } from './sources.js';
import { csvCell } from '../csv-cell.js';

export interface ExtractPlan {
  readonly partyId: string;
  readonly datasetId: string;
  /** Path below `incoming/`: `{partyId}/{datasetId}/{file}`. */
  readonly blobName: string;
  readonly columns: readonly Field[];
  /**
   * Which columns the import reads as the person's names, date of birth, postcode and address:
   * the generator writes the person's own there, whatever the agreement calls them (an agreement
   * added later names them as its document does: `surname`, `forename`, `birthDate`).
   */
  readonly storage: StoragePlan;
  readonly spec: SourceSpec;
}

/** System id fields and the population's id they carry. */
const SYSTEM_FIELDS: Readonly<Record<string, { system: string; field: 'socialCareId' | 'educationId' }>> = {
  socialCareSystemId: { system: 'mosaic', field: 'socialCareId' },
  educationSystemId: { system: 'capita-one', field: 'educationId' },
};

/** How a kind of party keeps its records: which identifiers it holds, how it writes dates. */
function specFor(partyId: string, columns: readonly Field[]): SourceSpec {
  const education = partyId.includes('education');
  const socialCare = partyId.includes('social-care');
  const identifiers = education
    ? { nhs: 0.4, upn: 1, ni: 0.2 }
    : socialCare
      ? { nhs: 0.95, upn: 0.8, ni: 0.6 }
      : { nhs: 0.6, upn: 0.4, ni: 0.9 };
  const systems = columns
    .filter((f) => SYSTEM_FIELDS[f.name] !== undefined)
    .map((f) => ({ ...SYSTEM_FIELDS[f.name]!, share: 0.95 }));
  const requiredIdentifiers = columns.flatMap((f) => {
    const kind = f.required ? nationalIdentifierKind(f) : undefined;
    return kind === undefined ? [] : [kind];
  });
  return {
    sourceId: partyId,
    identifiers,
    systems,
    dateFormat: education || socialCare ? 'iso' : 'day-first',
    ...(requiredIdentifiers.length > 0 ? { requiredIdentifiers } : {}),
  };
}

/** The kind of an NHS number, UPN or NI number field (as the import stores it); undefined for any other. */
function nationalIdentifierKind(field: Field): 'nhs' | 'upn' | 'ni' | undefined {
  const kind = identifierKind(field);
  return kind === 'nhs' || kind === 'upn' || kind === 'ni' ? kind : undefined;
}

/** One extract per source party of every dataset in the agreements. */
export function extractPlans(agreements: AgreementSet, fileName = 'extract.csv'): ExtractPlan[] {
  const plans: ExtractPlan[] = [];
  for (const { agreement } of agreements.all()) {
    for (const dataset of agreement.datasets) {
      const storage = storagePlanFor(dataset, agreement.matching);
      for (const partyId of dataset.sources) {
        const columns = dataset.fields.filter((f) => agreements.maySupplyField(partyId, dataset.id, f.name));
        plans.push({
          partyId,
          datasetId: dataset.id,
          blobName: `${partyId}/${dataset.id}/${fileName}`,
          columns,
          storage,
          spec: specFor(partyId, columns),
        });
      }
    }
  }
  return plans;
}

export interface TruthRow {
  readonly blobName: string;
  /** Spreadsheet row number (header = 1). */
  readonly row: number;
  /** The population's person id (`P123`). */
  readonly personId: string;
  /** RECORD_ERROR bits (error-profiles.ts). */
  readonly errors: number;
}

export interface WriteExtractOptions {
  readonly population: Population;
  readonly plan: ExtractPlan;
  /** Population indices of the people in the extract. */
  readonly members: Int32Array;
  readonly profile: ErrorProfileName;
  readonly seed: number | string;
  /** Receives the CSV text in chunks; awaited, so a file stream's backpressure holds. */
  readonly write: (chunk: string) => void | Promise<void>;
  readonly truth?: (row: TruthRow) => void;
  /** Records derived at a time. */
  readonly chunkSize?: number;
}

const SCHOOLS = [
  'Oakridge Academy',
  'St Margaret’s CE Primary',
  'Medway Valley School',
  'Elective home education',
  'Not known',
];
const TEAMS = ['Children in Care Team 2', 'Adult Locality Team North', 'SEND Assessment Team', 'Early Help Hub'];
const SEND_TYPES = [
  'Speech, language and communication needs',
  'Social, emotional and mental health',
  'Moderate learning difficulty',
];
const DISABILITIES = ['Hearing impairment', 'Physical disability', 'Autism spectrum condition'];
const CASEWORKERS = ['A. Patel', 'J. Okafor', 'M. Nowak', 'S. Byrne'];

/** `tenancyReference` → `TR`. */
function initials(fieldName: string): string {
  return fieldName.charAt(0).toUpperCase() + fieldName.slice(1).replace(/[^A-Z]/g, '');
}

function titleCase(name: string): string {
  return name.toLowerCase().replace(/(^|[\s'-])(\p{L})/gu, (_, sep: string, c: string) => sep + c.toUpperCase());
}

/** Writes one extract (header and rows) and reports the truth of each row. Returns the row count. */
export async function writeExtract(options: WriteExtractOptions): Promise<number> {
  const { population, plan, members, profile, seed } = options;
  const rng = new SeededRandom(`${String(seed)}:${plan.blobName}:values`);
  const chunkSize = options.chunkSize ?? 50_000;
  await options.write(plan.columns.map((f) => f.name).join(',') + '\n');
  const { storage } = plan;
  const referenceDay = dayOfIsoDate(population.referenceDate);
  // A system that will not save a record without the identifier holds no one who has none
  // (a child, for an NI number): those columns, whose value left empty drops the row.
  const requiredIdentifierColumns = plan.columns.flatMap((field, c) =>
    field.required && nationalIdentifierKind(field) !== undefined ? [c] : [],
  );
  let row = 1;
  for (let start = 0; start < members.length; start += chunkSize) {
    const chunk = members.subarray(start, Math.min(members.length, start + chunkSize));
    const source = deriveSource(population, plan.spec, chunk, profile, `${String(seed)}:${plan.blobName}:${start}`);
    const lines: string[] = [];
    for (let k = 0; k < source.size; k++) {
      const person = source.personIndex[k]!;
      const given = source.givenName[k]!;
      const family = source.familyName[k]!;
      const values = plan.columns.map((field) => valueOf(field, k, person));
      if (requiredIdentifierColumns.some((c) => values[c] === '')) continue;
      row++;
      lines.push(values.map(csvCell).join(','));
      options.truth?.({ blobName: plan.blobName, row, personId: `P${person}`, errors: source.errors[k]! });
      if (lines.length >= 2_000) {
        await options.write(lines.join('\n') + '\n');
        lines.length = 0;
      }

      function valueOf(field: Field, k: number, person: number): string {
        switch (field.type) {
          case 'date':
            // Another date (a tenancy's start, say): some day of the last ten years.
            return field.name === storage.dateOfBirth
              ? source.dob[k]!
              : formatDate(referenceDay - 1 - rng.int(3650), plan.spec.dateFormat);
          case 'postcode':
            // Another postcode (a school's, say): anywhere in the area.
            return field.name === storage.postcode
              ? source.postcode[k]!
              : population.postcodes.postcode[rng.int(population.postcodes.postcode.length)]!;
          case 'nhs-number':
            return source.nhsNumber[k]!;
          case 'upn':
            return source.upn[k]!;
          case 'ni-number':
            return source.niNumber[k]!;
          case 'system-id': {
            const system = SYSTEM_FIELDS[field.name]?.system;
            if (system !== undefined) return source.systemIds.get(system)?.[k] ?? '';
            return `HOS-${String(100_000 + person)}`;
          }
          case 'flag':
            return rng.chance(field.name.startsWith('child') ? 0.05 : 0.2)
              ? 'Y'
              : !field.required && rng.chance(0.1)
                ? ''
                : 'N';
          case 'percentage':
            return !field.required && rng.chance(0.1) ? '' : (rng.next() * 30).toFixed(1);
          case 'count':
          case 'integer':
            return String(rng.chance(0.9) ? 0 : 1 + rng.int(4));
          case 'enum':
            return field.values?.[rng.int(field.values.length)] ?? '';
          case 'string':
            return stringValue(field, person);
        }
      }

      function stringValue(field: Field, person: number): string {
        switch (field.name) {
          case storage.givenName:
            return given;
          case storage.familyName:
            return family;
          case storage.fullName:
            return titleCase(`${given} ${family}`);
          case storage.address:
            return titleCase(source.address[k]!);
        }
        switch (field.name) {
          case 'gender':
            return population.sex[person] === FEMALE ? 'Female' : 'Male';
          case 'telephoneNumber':
            return rng.chance(0.3) ? '' : `07700 900${String(rng.int(1000)).padStart(3, '0')}`;
          case 'email':
            return rng.chance(0.5) ? '' : `${given}.${family}@example.org`.toLowerCase().replace(/[^a-z0-9.@-]/g, '');
          case 'currentSchool':
            return SCHOOLS[rng.int(SCHOOLS.length)]!;
          case 'socialCareOrSendTeam':
            return rng.chance(0.6) ? '' : TEAMS[rng.int(TEAMS.length)]!;
          case 'assignedCaseworkers':
            return rng.chance(0.6) ? '' : CASEWORKERS[rng.int(CASEWORKERS.length)]!;
          case 'sendType':
            return rng.chance(0.8) ? '' : SEND_TYPES[rng.int(SEND_TYPES.length)]!;
          case 'disabilities':
            return rng.chance(0.85) ? '' : DISABILITIES[rng.int(DISABILITIES.length)]!;
          default:
            // Free-text case notes: mostly empty in an extract. A field the source must fill
            // that the generator knows nothing of gets a reference, e.g. `TR-100123` for
            // `tenancyReference`.
            return field.required ? `${initials(field.name)}-${String(100_000 + person)}` : '';
        }
      }
    }
    if (lines.length > 0) await options.write(lines.join('\n') + '\n');
  }
  return row - 1;
}

/** `count` distinct population indices drawn from `0..size-1`, seeded. */
export function drawMembers(size: number, count: number, seed: number | string): Int32Array {
  const rng = new SeededRandom(`${String(seed)}:members`);
  const all = new Int32Array(size);
  for (let i = 0; i < size; i++) all[i] = i;
  const n = Math.min(count, size);
  for (let k = 0; k < n; k++) {
    const m = k + rng.int(size - k);
    const t = all[k]!;
    all[k] = all[m]!;
    all[m] = t;
  }
  return all.slice(0, n);
}
