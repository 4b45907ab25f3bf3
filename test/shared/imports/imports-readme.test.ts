import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FILE_REASONS, ROW_REASONS } from '../../../shared/imports/reasons.js';

/**
 * shared/imports/README.md's "What a file must be" table is what a partner is sent to when a file
 * is refused: each row of it (path, party, format, text, header, rows, size, xlsx) once, saying one
 * thing. A merge left two versions of the text, header and rows rows between conflict markers —
 * one still saying UTF-16 is `nul-byte`, the other `utf16-encoding` — and a reader could not tell
 * which held.
 */

const README = readFileSync(new URL('../../../shared/imports/README.md', import.meta.url), 'utf8');

describe('shared/imports/README.md', () => {
  it('holds no merge conflict markers', () => {
    const markers = README.split('\n')
      .map((line, i) => [i + 1, line] as const)
      .filter(([, line]) => /^(?:<{7}|={7}|>{7})(?:\s|$)/.test(line))
      .map(([n]) => n);
    expect(markers).toEqual([]);
  });

  it('gives each row of "What a file must be" once, the text row naming utf16-encoding and nul-byte for a NUL elsewhere', () => {
    const section = README.slice(README.indexOf('## What a file must be')).split('\n\n')[1]!.split('\n');
    const labels = section.slice(2).map((line) => /^\| (\w+)\s+\|/.exec(line)?.[1]);
    expect(labels).toEqual(['path', 'party', 'format', 'text', 'header', 'rows', 'size', 'xlsx']);
    const text = section.find((line) => line.startsWith('| text '))!;
    expect(text).toContain('`utf16-encoding`');
    expect(text).not.toContain('also catches UTF-16');
  });

  it('names every reason code a report can carry, so a partner given one can look it up', () => {
    // Eight file reasons (unknown-dataset, empty-file, header-unreadable, …) and every row reason were in none of it.
    const unnamed = [...FILE_REASONS, ...ROW_REASONS].filter((reason) => !README.includes(`\`${reason}\``));
    expect(unnamed).toEqual([]);
  });
});
