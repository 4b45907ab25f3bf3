/**
 * The longest wait Node's timers hold, about 24.8 days: setTimeout fires a longer one after 1 ms,
 * so a wait that could be longer is refused or taken in steps.
 */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;
