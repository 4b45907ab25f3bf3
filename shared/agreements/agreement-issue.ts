/**
 * A problem found in an agreement file: where it is (file, path, line) and what is wrong.
 * Messages name ids, field names and roles from the agreement, never a person's data: agreement
 * files hold none.
 */

export type IssuePath = readonly (string | number)[];

export interface AgreementIssue {
  /** The agreement file, as it was given to the loader. */
  readonly file: string;
  /** Where in the file, e.g. `grants[2].fields[1]`; empty for the whole file. */
  readonly path: string;
  /** 1-based line in the file, where it could be found. */
  readonly line?: number;
  readonly message: string;
}

export function formatPath(path: IssuePath): string {
  let text = '';
  for (const part of path) {
    text += typeof part === 'number' ? `[${part}]` : text === '' ? part : `.${part}`;
  }
  return text;
}

export function formatIssue(issue: AgreementIssue): string {
  const where = issue.path === '' ? '' : ` ${issue.path}`;
  const line = issue.line === undefined ? '' : ` (line ${issue.line})`;
  return `${issue.file}:${where}${line}: ${issue.message}`;
}

/** Thrown when one or more agreement files are invalid; `issues` lists every problem found. */
export class AgreementValidationError extends Error {
  readonly issues: readonly AgreementIssue[];

  constructor(issues: readonly AgreementIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`Invalid agreements (${count}):\n${issues.map((issue) => `  - ${formatIssue(issue)}`).join('\n')}`);
    this.name = 'AgreementValidationError';
    this.issues = issues;
  }
}
