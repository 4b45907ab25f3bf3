/**
 * A gate for the race tests: a promise that stays pending until the test opens it, so one side
 * of a race can wait at a known point (`await g.opened`) while the other signals it on
 * (`g.open()`), instead of by timing. Opening it again does nothing.
 */
export function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}
