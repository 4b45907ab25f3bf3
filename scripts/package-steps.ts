/**
 * The steps of `npm run package` (scripts/package.ts) that decide what reaches production, kept
 * apart from its command line so test/scripts/package-steps.test.ts can check each one without
 * staging a whole package.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AGREEMENT_FILE } from '../shared/agreements/load.js';

/** The agreements folder, relative to the repository root, as it is to the package root. */
export const AGREEMENTS = 'agreements';

/** The working tree's agreements differ from those committed at HEAD (refused, exit 2). */
export class UncommittedAgreementsError extends Error {
  constructor(readonly files: readonly string[]) {
    super(
      `the working tree's agreements differ from HEAD, and the package deploys the agreements as committed (signed off): ${files.join(', ')}. ` +
        'Commit them once signed off, or set them aside (git stash -u), or pass --leave-out-uncommitted-agreements to stage the agreements as committed at HEAD regardless',
    );
    this.name = 'UncommittedAgreementsError';
  }
}

function git(root: string, args: string[]): Buffer {
  const result = spawnSync('git', args, { cwd: root, maxBuffer: 64 * 1_048_576 });
  if (result.error) {
    throw new Error(
      `git could not be run (${result.error.message}): the package stages ${AGREEMENTS}/ as committed at HEAD, so it is built from a git checkout with git installed`,
    );
  }
  if (result.status !== 0) {
    const said = result.stderr.toString().split('\n')[0]?.trim() ?? '';
    if (/not a git repository/i.test(said)) {
      throw new Error(
        `${root} is not a git checkout: the package stages ${AGREEMENTS}/ as committed at HEAD, so build it from a clone of the repository`,
      );
    }
    throw new Error(`git ${args[0] ?? ''} failed in ${root} (${said || `exit ${String(result.status)}`})`);
  }
  return result.stdout;
}

/**
 * The agreement files (those the loader reads: `agreements/*.yaml|yml|json`) whose working-tree
 * state is not HEAD's — untracked, ignored, added or changed in the index, modified or deleted —
 * each as `agreements/<file> (<how>)`. Empty when the working tree's agreements are HEAD's.
 */
export function uncommittedAgreements(root: string): string[] {
  const inRepository = git(root, ['rev-parse', '--show-prefix']).toString().trim();
  try {
    git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  } catch {
    throw new Error(`${root} has no commit yet: the package stages ${AGREEMENTS}/ as committed at HEAD`);
  }
  const status = git(root, [
    'status',
    '--porcelain=v1',
    '-z',
    '--untracked-files=all',
    '--ignored=matching',
    '--no-renames',
    '--',
    AGREEMENTS,
  ]).toString();
  const found: string[] = [];
  for (const entry of status.split('\0')) {
    if (entry.length < 4) continue;
    const code = entry.slice(0, 2);
    // Porcelain paths are the repository root's; the package's root may be a folder inside it.
    const path = entry.slice(3).slice(inRepository.length);
    const name = path.slice(`${AGREEMENTS}/`.length);
    // The loader reads only the folder's own files; a draft in a subfolder is never loaded.
    if (!path.startsWith(`${AGREEMENTS}/`) || name.includes('/') || !AGREEMENT_FILE.test(name)) continue;
    const how =
      code === '??'
        ? 'untracked'
        : code === '!!'
          ? 'ignored by git'
          : code.includes('D')
            ? 'deleted'
            : code[0] === 'A'
              ? 'added, not committed'
              : 'modified';
    found.push(`${path} (${how})`);
  }
  return found.sort();
}

/**
 * Writes `agreements/` as committed at HEAD into `dest/agreements`, whatever the working tree
 * holds. Symbolic links and submodules are left out: the loader reads regular files only.
 */
export function stageCommittedAgreements(root: string, dest: string): void {
  const listing = git(root, ['ls-tree', '-r', '-z', '--full-tree', `HEAD:./${AGREEMENTS}`]).toString();
  let staged = 0;
  for (const entry of listing.split('\0')) {
    const match = /^(\d+) blob ([0-9a-f]+)\t(.+)$/s.exec(entry);
    if (!match || !(match[1] === '100644' || match[1] === '100755')) continue;
    const target = join(dest, AGREEMENTS, match[3] ?? '');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, git(root, ['cat-file', 'blob', match[2] ?? '']));
    if (AGREEMENT_FILE.test(match[3] ?? '')) staged += 1;
  }
  if (staged === 0) throw new Error(`HEAD holds no agreement in ${AGREEMENTS}/: the app would refuse to start`);
}
