import { vi } from 'vitest';

/** A JSON log line, as shared/logging.ts writes it to stderr. */
export type LoggedLine = Record<string, unknown>;

/**
 * What `run` answers, and the JSON lines it logged meanwhile (stderr, where the logger writes),
 * kept from the test's output: what start-up warns of is what an operator reads.
 */
export async function loggedWhile<T>(run: () => Promise<T>): Promise<{ result: T; lines: LoggedLine[] }> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((line) => {
    written.push(String(line));
    return true;
  });
  let result: T;
  try {
    result = await run();
  } finally {
    spy.mockRestore();
  }
  const lines = written.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as LoggedLine);
  return { result, lines };
}
