import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/** Where `npm run package` records, at the package root, the commit it was built from. */
export const BUILD_RECORD = 'lintel-build.json';

/** A git object id: SHA-1, or SHA-256 in a repository that uses it. */
const commitId = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/);

/** What `npm run package` writes into the package, and what the app reads back at its start. */
export const buildRecordSchema = z.object({
  commit: commitId,
  // Packages staged before the build time was recorded hold none.
  builtAt: z.iso.datetime().optional(),
  uncommittedLeftOut: z.array(z.string()),
});

export type BuildRecord = z.infer<typeof buildRecordSchema>;

/** What the app logs of its build at each start: the commit and its time, never which files were left out. */
export const deployedBuildSchema = buildRecordSchema.pick({ commit: true, builtAt: true });

export type DeployedBuild = z.infer<typeof deployedBuildSchema>;

/**
 * The build record at the app's root, or undefined where there is none (a local run from a
 * checkout) or it cannot be read: the start then says nothing of the build rather than fail, or
 * repeat whatever a damaged file holds.
 */
export async function readDeployedBuild(appRoot: string): Promise<DeployedBuild | undefined> {
  let text: string;
  try {
    text = await readFile(join(appRoot, BUILD_RECORD), 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const record = buildRecordSchema.safeParse(parsed);
  if (!record.success) return undefined;
  const { commit, builtAt } = record.data;
  return builtAt === undefined ? { commit } : { commit, builtAt };
}
