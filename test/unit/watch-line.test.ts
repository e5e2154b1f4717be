/** `warden status`'s watch-mode line (core/cli/watch-line.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { watchLine } from '../../core/cli/watch-line.js';

describe('watchLine', () => {
  it('a fault names its text and time, not [object Object]', () => {
    const l = watchLine({
      connected: true,
      fault: { ts: Date.UTC(2026, 11, 5, 23, 0), what: 'helper gone' },
    });
    assert.equal(l, 'FAULT since 2026-12-05T23:00:00.000Z: helper gone');
  });

  it('lists active mechanisms by name and the others with their reason', () => {
    const l = watchLine({
      connected: true,
      fault: null,
      mechanisms: {
        fanotify_perm: 'active',
        bpf_lsm: 'unavailable: the kernel refused the BPF LSM program (load: Operation not permitted)',
        connect4: 'active: agent-tree TCP connections … steered',
        freezer: 'cgroup2',
      },
    });
    assert.equal(
      l,
      'on; active: fanotify_perm, connect4, freezer (cgroup2); not active: bpf_lsm: unavailable: the kernel refused the BPF LSM program (load: Operation not permitted)',
    );
  });

  it('no helper and no daemon are said plainly', () => {
    assert.match(watchLine({ connected: false, fault: null }), /^off \(no root helper/);
    assert.equal(watchLine(undefined), 'unknown (daemon not running)');
  });
});
