/**
 * Where an import's wall time goes, phase by phase: `bench:import` prints it, so that work on
 * import speed starts from a measurement. An import given a clock (`hooks.phases`) ends each
 * phase with {@link PhaseClock.lap}; a phase met more than once (a batch's insert, say) adds up.
 */
export type ImportPhase =
  | 'blob properties'
  | 'hash pass'
  | 'claim run'
  | 'open file'
  | 'begin, delete previous'
  | 'first record'
  | 'wait for rows'
  | 'receive rows'
  | 'insert'
  | 'drop indexes'
  | 'rebuild indexes'
  | 'carry person ids'
  | 'opt-out successors'
  | 'report'
  | 'commit'
  | 'stop reader'
  | 'access log'
  | 'move blob'
  | 'after load';

export class PhaseClock {
  private readonly spent = new Map<ImportPhase, number>();
  private last = performance.now();

  /** Starts timing afresh (the time since the last lap counts to no phase). */
  start(): void {
    this.last = performance.now();
  }

  /** Ends the current phase: the time since the last lap (or start) counts to `phase`. */
  lap(phase: ImportPhase): void {
    const now = performance.now();
    this.spent.set(phase, (this.spent.get(phase) ?? 0) + (now - this.last));
    this.last = now;
  }

  /** Milliseconds per phase, in the order the phases were first met. */
  totals(): [ImportPhase, number][] {
    return [...this.spent];
  }
}

/** A lap that does nothing, for an import given no clock. */
export function lapOf(clock: PhaseClock | undefined): (phase: ImportPhase) => void {
  return clock === undefined ? () => undefined : (phase) => clock.lap(phase);
}
