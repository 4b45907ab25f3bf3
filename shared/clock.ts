/** Dependencies that may carry the clock their work reads the time from: tests fix it, the hosts leave it out. */
export interface Clocked {
  readonly now?: () => Date;
}

/** The clock `deps` carries, or the system's. */
export function clockOf(deps: Clocked): () => Date {
  return deps.now ?? (() => new Date());
}

/** The time now by the clock `deps` carries, or the system's. */
export function nowOf(deps: Clocked): Date {
  return clockOf(deps)();
}
