/** A valid contract `Hold` for tests, with overrides. */
import type { Hold } from '../../core/api/contract.js';

export function hold(run: number, n: number, over: Partial<Hold> = {}): Hold {
  return {
    id: `${run}-${n}`,
    run,
    hold: n,
    seq: n,
    ts: 1_700_000_000_000,
    deadline: 1_700_000_060_000,
    fallback: 'deny',
    decision: 'ask',
    reason: 'rule',
    rule: 'delete-outside-workspace',
    band: '30-delete',
    why: null,
    op: 'delete',
    sys: 'unlinkat',
    path: `/home/u/file-${n}`,
    path2: null,
    pid: 4242,
    cwd: '/home/u',
    argv: ['rm', `file-${n}`],
    chain: [],
    burst: null,
    preview: null,
    irreversible: null,
    ...over,
  };
}
