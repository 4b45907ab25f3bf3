import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointNow } from '../../shared/audit/audit-service.js';
import { ownAnchorContainer, startTestHost, type TestHost } from '../support/test-host.js';

describe('audit API', () => {
  let t: TestHost;
  const get = async (path: string, party: string, roles: string[]) => {
    const res = await fetch(`${t.url}/api${path}`, {
      headers: { authorization: `Bearer ${await t.token(party, roles)}` },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    t = await startTestHost();
    await ownAnchorContainer(t);
    // Some traffic to log: denied lookups still leave entries.
    for (let i = 0; i < 5; i++) await get('/v1/people/nobody', 'kettering-borough-council', ['housing-officer']);
    const first = await checkpointNow(t.host.services);
    expect(first.checkpoint?.treeSize).toBe(5);
    for (let i = 0; i < 3; i++) await get('/v1/people/nobody', 'kettering-borough-council', ['housing-officer']);
    await checkpointNow(t.host.services);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('lets a DPO verify the log against its anchored checkpoints', async () => {
    const res = await get('/v1/audit/verify', 'kettering-borough-council', ['dpo']);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, checkpoints: 2, firstBadSeq: null });
  });

  it('refuses the audit endpoints to roles no agreement names for audit', async () => {
    const res = await get('/v1/audit/verify', 'kettering-borough-council', ['housing-officer']);
    expect(res.status).toBe(403);
  });

  it('refuses a consistency proof from a larger tree to a smaller one as a bad query, not a tree the log lacks', async () => {
    // Both trees exist: answered 404 `tree-size-unknown`, "The log has no tree of that size", the
    // DPO went looking for a size the log does have.
    const backwards = await get('/v1/audit/proofs/consistency?from=8&to=5', 'kettering-borough-council', ['dpo']);
    expect(backwards.status).toBe(400);
    expect(backwards.body.type).toBe('urn:lintel:problem:invalid-request');
    const beyond = await get('/v1/audit/proofs/consistency?from=5&to=999999', 'kettering-borough-council', ['dpo']);
    expect(beyond.body.type).toBe('urn:lintel:problem:tree-size-unknown');
  });

  it('issues proofs that the stand-alone verifier accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lintel-proof-'));
    const script = join(import.meta.dirname, '../../scripts/verify-proof.mjs');

    const inclusion = await get('/v1/audit/proofs/inclusion?seq=3', 'kettering-borough-council', ['dpo']);
    expect(inclusion.status).toBe(200);
    expect(inclusion.body).toMatchObject({ seq: 3, treeSize: 5, checkpointed: true });
    writeFileSync(join(dir, 'inclusion.json'), JSON.stringify(inclusion.body));
    expect(
      execFileSync(process.execPath, [script, 'inclusion', join(dir, 'inclusion.json')], { encoding: 'utf8' }),
    ).toMatch(/^OK/);

    const consistency = await get('/v1/audit/proofs/consistency?from=5&to=8', 'kettering-borough-council', ['dpo']);
    expect(consistency.status).toBe(200);
    writeFileSync(join(dir, 'consistency.json'), JSON.stringify(consistency.body));
    expect(
      execFileSync(process.execPath, [script, 'consistency', join(dir, 'consistency.json')], { encoding: 'utf8' }),
    ).toMatch(/^OK/);
  });

  // verify-proof.mjs recomputes an entry's leaf hash when the proof carries the entry, but no
  // endpoint served one: a DPO could check that some hash was in the log, not that this entry was.
  it('gives a DPO the entry as hashed, so the stand-alone verifier checks its content too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lintel-proof-'));
    const script = join(import.meta.dirname, '../../scripts/verify-proof.mjs');
    const inclusion = await get('/v1/audit/proofs/inclusion?seq=3', 'kettering-borough-council', ['dpo']);
    expect(inclusion.status).toBe(200);
    expect(inclusion.body.entry).toMatchObject({ seq: 3, partyId: 'kettering-borough-council', decision: 'deny' });
    writeFileSync(join(dir, 'inclusion.json'), JSON.stringify(inclusion.body));
    expect(
      execFileSync(process.execPath, [script, 'inclusion', join(dir, 'inclusion.json')], { encoding: 'utf8' }),
    ).toMatch(/^OK inclusion: entry seq 3 \(entry content checked\) is included in the tree of size 5 /);
  });

  it('gives the DPO of an agreement the entry is no business of the proof alone, not the entry', async () => {
    const inclusion = await get('/v1/audit/proofs/inclusion?seq=3', 'dudley-housing-options', ['dpo']);
    expect(inclusion.status).toBe(200);
    expect(inclusion.body).toMatchObject({ seq: 3, treeSize: 5, entry: null });
  });
});
