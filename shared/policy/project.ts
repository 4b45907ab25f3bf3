/**
 * The field projector: the only way a record becomes a response. It builds the response from
 * the decision's field set, copying granted fields one by one, so nothing a handler does to
 * the record (extra columns, identifiers, a spread of the stored row) can widen the response.
 */
import type { Decision } from './decision.js';

export type ProjectionErrorCode =
  'decision-denied' | 'no-data-fields' | 'subject-check-pending' | 'dataset-not-in-decision';

/** A programming error in the caller of the projector, never a user's mistake: it should fail loudly. */
export class ProjectionError extends Error {
  readonly code: ProjectionErrorCode;

  constructor(code: ProjectionErrorCode, message: string) {
    super(message);
    this.name = 'ProjectionError';
    this.code = code;
  }
}

/**
 * Returns a new object holding only the fields the decision grants for `datasetId`, in the
 * order the grant lists them. A granted field absent from the record is left out, not nulled.
 * Throws ProjectionError for a deny decision, a decision whose subject checks are still pending,
 * or a dataset the decision does not cover.
 */
export function projectRecord(
  decision: Decision,
  datasetId: string,
  record: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  if (!decision.allow) {
    throw new ProjectionError(
      'decision-denied',
      `Cannot project a record under a denied decision (${decision.reason}).`,
    );
  }
  if (decision.subjectConditions === 'pending') {
    throw new ProjectionError(
      'subject-check-pending',
      'Decide again with the matched subject before projecting its record.',
    );
  }
  const granted = decision.fields.get(datasetId);
  if (granted === undefined) {
    throw new ProjectionError(
      decision.fields.size === 0 ? 'no-data-fields' : 'dataset-not-in-decision',
      `The decision grants no fields of dataset '${datasetId}'.`,
    );
  }
  const projected: Record<string, unknown> = {};
  for (const field of granted) {
    if (Object.hasOwn(record, field)) projected[field] = record[field];
  }
  return projected;
}
