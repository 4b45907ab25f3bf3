/**
 * A consent or opt-out answer with what differs between any two recordings (its id and time)
 * replaced by their types: what two answers that must tell the caller nothing apart compare.
 */
export function answerShape(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, k === 'consentId' || k === 'recordedAt' ? typeof v : v]),
  );
}
