import { describe, expect, it } from 'vitest';
import { useHolds } from '../../renderer/stores/holds';
import { filterEvents, PAGE_SIZE, useRuns } from '../../renderer/stores/runs';
import { useRestore } from '../../renderer/stores/restore';
import { usePolicies } from '../../renderer/stores/policies';
import { useConnection } from '../../renderer/stores/connection';
import { useSettings } from '../../renderer/stores/settings';
import { startStores } from '../../renderer/stores';
import { ApiError } from '../../renderer/transport/types';
import { FakeTransport, flush, installFake, makeHold } from './fake';
import type { ApiEvent } from '../../renderer/stores/types';

function ev(seq: number, over: Partial<ApiEvent> = {}): ApiEvent {
  return {
    seq,
    ts: seq,
    pid: 1,
    op: 'write',
    sys: null,
    path: `/ws/f${seq}`,
    path2: null,
    decision: 'allow',
    ruleId: null,
    band: null,
    errno: 0,
    pre: null,
    preSha: null,
    argv: null,
    ...over,
  };
}

describe('holds store', () => {
  it('loads pending holds newest first and follows hold.new / hold.resolved pushes', async () => {
    const t = installFake().on('holds.list', () => [
      makeHold({ hold: 1, ts: 100 }),
      makeHold({ hold: 2, ts: 200 }),
    ]);
    await useHolds.getState().load();
    expect(t.callsOf('holds.list')).toEqual([{}]);
    expect(useHolds.getState().holds.map((h) => h.id)).toEqual(['7-2', '7-1']);
    useHolds.getState().applyPush({ type: 'hold.new', hold: makeHold({ hold: 3, ts: 300 }) });
    expect(useHolds.getState().holds.map((h) => h.id)).toEqual(['7-3', '7-2', '7-1']);
    // a duplicate push does not duplicate the card
    useHolds.getState().applyPush({ type: 'hold.new', hold: makeHold({ hold: 3, ts: 300 }) });
    expect(useHolds.getState().holds).toHaveLength(3);
    useHolds.getState().applyPush({ type: 'hold.resolved', id: '7-2', decision: 'deny', by: 'timeout' });
    expect(useHolds.getState().holds.map((h) => h.id)).toEqual(['7-3', '7-1']);
    expect(useHolds.getState().lastResolved).toEqual({ id: '7-2', decision: 'deny', by: 'timeout' });
  });

  it('decide sends id, decision and scope, and drops the hold on success', async () => {
    const t = installFake().on('holds.decide', () => ({ rule: null }));
    useHolds.setState({ holds: [makeHold({ hold: 1 }), makeHold({ hold: 2 })] });
    await useHolds.getState().decide('7-1', 'allow', 'run');
    expect(t.callsOf('holds.decide')).toEqual([{ id: '7-1', decision: 'allow', scope: 'run' }]);
    expect(useHolds.getState().holds.map((h) => h.id)).toEqual(['7-2']);
  });

  it('keeps the hold and shows the error when decide fails; drops it on no-such-hold', async () => {
    const t = installFake().on('holds.decide', (p) => {
      throw p.id === '7-1' ? new ApiError('run-gone', 'no supervisor') : new ApiError('no-such-hold', 'gone');
    });
    useHolds.setState({ holds: [makeHold({ hold: 1 }), makeHold({ hold: 2 })] });
    await useHolds.getState().decide('7-1', 'deny');
    expect(useHolds.getState().decideErrors['7-1']).toBe('no supervisor');
    expect(useHolds.getState().holds).toHaveLength(2);
    await useHolds.getState().decide('7-2', 'deny');
    expect(useHolds.getState().holds.map((h) => h.id)).toEqual(['7-1']);
    expect(t.calls).toHaveLength(2);
  });

  it('denyAllOfRun denies every pending hold of that run only', async () => {
    const t = installFake().on('holds.decide', () => ({ rule: null }));
    useHolds.setState({
      holds: [makeHold({ hold: 1 }), makeHold({ run: 8, hold: 1 }), makeHold({ hold: 2 })],
    });
    await useHolds.getState().denyAllOfRun(7);
    expect(t.callsOf('holds.decide')).toEqual([
      { id: '7-1', decision: 'deny', scope: 'once' },
      { id: '7-2', decision: 'deny', scope: 'once' },
    ]);
    expect(useHolds.getState().holds.map((h) => h.id)).toEqual(['8-1']);
  });
});

describe('runs store', () => {
  it('pages run.log with afterSeq/limit and stops at a short page', async () => {
    const total = PAGE_SIZE * 2 + 5;
    const t = installFake().on('run.log', (p) => {
      const after = p.afterSeq as number;
      const events = [];
      for (let s = after + 1; s <= Math.min(total, after + (p.limit as number)); s++) events.push(ev(s));
      return { run: null, events, chains: {} };
    });
    await useRuns.getState().selectRun(3);
    expect(useRuns.getState().events).toHaveLength(PAGE_SIZE);
    expect(useRuns.getState().done).toBe(false);
    await useRuns.getState().loadMore();
    await useRuns.getState().loadMore();
    expect(useRuns.getState().events).toHaveLength(total);
    expect(useRuns.getState().done).toBe(true);
    await useRuns.getState().loadMore(); // no call once done
    expect(t.callsOf('run.log')).toEqual([
      { run: 3, afterSeq: 0, limit: PAGE_SIZE },
      { run: 3, afterSeq: PAGE_SIZE, limit: PAGE_SIZE },
      { run: 3, afterSeq: PAGE_SIZE * 2, limit: PAGE_SIZE },
    ]);
  });

  it('the op filter is sent to the daemon and restarts paging; path/decision filter loaded events', async () => {
    const t = installFake().on('run.log', (p) => ({
      events: p.op ? [ev(2, { op: p.op as string })] : [ev(1), ev(2, { op: 'delete', decision: 'deny' })],
    }));
    await useRuns.getState().selectRun(3);
    expect(useRuns.getState().events).toHaveLength(2);
    useRuns.getState().setFilters({ op: 'delete' });
    await flush();
    expect(t.callsOf('run.log').at(-1)).toEqual({ run: 3, afterSeq: 0, limit: PAGE_SIZE, op: 'delete' });
    expect(useRuns.getState().events.map((e) => e.op)).toEqual(['delete']);

    const evs = [
      ev(1, { path: '/ws/src/a.ts' }),
      ev(2, { path: '/ws/b', path2: '/ws/SRC/c' }),
      ev(3, { decision: 'deny' }),
    ];
    expect(filterEvents(evs, { op: '', path: 'src', decision: '' }).map((e) => e.seq)).toEqual([1, 2]);
    expect(filterEvents(evs, { op: '', path: '', decision: 'deny' }).map((e) => e.seq)).toEqual([3]);
    expect(filterEvents(evs, { op: '', path: 'src', decision: 'deny' })).toEqual([]);
  });

  it('a stale page of a previously selected run is dropped', async () => {
    let release: (v: unknown) => void = () => {};
    installFake().on('run.log', (p) =>
      p.run === 1 ? new Promise((r) => (release = r)) : { events: [ev(9)] },
    );
    const first = useRuns.getState().selectRun(1);
    await useRuns.getState().selectRun(2);
    release({ events: [ev(1), ev(2)] });
    await first;
    expect(useRuns.getState().selectedRun).toBe(2);
    expect(useRuns.getState().events.map((e) => e.seq)).toEqual([9]);
  });
});

describe('restore store', () => {
  it('plans, applies (with force) and undoes with the rollback id', async () => {
    const plan = {
      run: 4,
      createdAt: 1,
      steps: [{ seq: 1, action: 'restore', path: '/ws/a', note: '' }],
      irreversible: [],
      conflicts: [],
    };
    const result = { rollbackId: 12, applied: 1, skipped: 0, movedAside: [], errors: [], conflicts: [] };
    const t = installFake()
      .on('rollback.plan', () => plan)
      .on('rollback.apply', () => result)
      .on('rollback.undo', () => ({ ...result, rollbackId: 13, undoOf: 12 }));
    await useRestore.getState().pick(4);
    expect(t.callsOf('rollback.plan')).toEqual([{ run: 4, paths: [], all: false }]);
    expect(useRestore.getState().plan).toEqual(plan);
    useRestore.getState().setForce(true);
    await useRestore.getState().apply();
    expect(t.callsOf('rollback.apply')).toEqual([{ run: 4, paths: [], all: false, force: true }]);
    expect(useRestore.getState().result?.rollbackId).toBe(12);
    await useRestore.getState().undo();
    expect(t.callsOf('rollback.undo')).toEqual([{ rollback: 12 }]);
    expect(useRestore.getState().undoResult?.undoOf).toBe(12);
  });

  it('reports a failed apply', async () => {
    installFake()
      .on('rollback.plan', () => ({ run: 4, createdAt: 1, steps: [], irreversible: [], conflicts: [] }))
      .on('rollback.apply', () => {
        throw new ApiError('run-active', 'run 4 is still running');
      });
    await useRestore.getState().pick(4);
    await useRestore.getState().apply();
    expect(useRestore.getState().error).toBe('run 4 is still running');
    expect(useRestore.getState().result).toBeNull();
  });
});

describe('policies, settings, connection', () => {
  it('loads rules with policy.show', async () => {
    const rules = [{ id: 'r1', band: '00-hard-deny', decision: 'deny', ops: ['*'], patterns: ['~/.ssh/**'] }];
    const t = installFake().on('policy.show', () => rules);
    await usePolicies.getState().load();
    expect(t.callsOf('policy.show')).toEqual([{ policies: [] }]);
    expect(usePolicies.getState().rules).toEqual(rules);
  });

  it('keeps the notification toggle in localStorage', () => {
    useSettings.getState().setNotifications(true);
    expect(localStorage.getItem('warden.notifications')).toBe('on');
    useSettings.getState().setNotifications(false);
    expect(localStorage.getItem('warden.notifications')).toBe('off');
  });

  it('startStores: status drives the connection store, a (re)connect reloads, pushes reach the stores', async () => {
    const t = new FakeTransport()
      .on('holds.list', () => [])
      .on('runs.list', () => [])
      .on('status', () => ({ pid: 1, state: '/s', runsInProgress: [], helper: null, lastRun: null }));
    const stop = startStores(t);
    await flush();
    expect(useConnection.getState().status).toBe('connecting');
    expect(t.callsOf('holds.list')).toHaveLength(1);
    t.setStatus('connected');
    await flush();
    expect(useConnection.getState().status).toBe('connected');
    expect(t.callsOf('holds.list')).toHaveLength(2);
    expect(useConnection.getState().daemon?.pid).toBe(1);
    t.setStatus('disconnected');
    expect(useConnection.getState().status).toBe('disconnected');
    t.push({ type: 'hold.new', hold: makeHold() });
    expect(useHolds.getState().holds).toHaveLength(1);
    const before = t.callsOf('runs.list').length;
    t.push({ type: 'run.ended', run: 7 });
    expect(t.callsOf('runs.list')).toHaveLength(before + 1);
    stop();
    t.push({ type: 'hold.resolved', id: '7-1', decision: 'allow', by: 'person' });
    expect(useHolds.getState().holds).toHaveLength(1);
  });
});

describe('holds store races', () => {
  it('a holds.list answer in flight does not revive a hold resolved meanwhile', async () => {
    let answer: (v: unknown) => void = () => {};
    installFake().on('holds.list', () => new Promise((r) => (answer = r)));
    const loading = useHolds.getState().load();
    useHolds.getState().applyPush({ type: 'hold.resolved', id: '7-1', decision: 'deny', by: 'timeout' });
    answer([makeHold({ hold: 1 }), makeHold({ hold: 2 })]);
    await loading;
    expect(useHolds.getState().holds.map((h) => h.id)).toEqual(['7-2']);
  });

  it('a hold gone with its helper connection comes back when the helper re-sends it (daemon restart)', async () => {
    installFake().on('holds.list', () => [makeHold({ hold: 1 })]);
    useHolds.getState().applyPush({ type: 'hold.new', hold: makeHold({ hold: 1 }) });
    useHolds.getState().applyPush({ type: 'hold.resolved', id: '7-1', decision: 'deny', by: 'gone' });
    expect(useHolds.getState().holds).toEqual([]);
    await useHolds.getState().load(); // the reconnect's refetch: the new daemon lists it again
    expect(useHolds.getState().holds.map((h) => h.id)).toEqual(['7-1']);
    // a hold resolved for real stays resolved against a late list, but a re-sent hold.new revives it
    useHolds.getState().applyPush({ type: 'hold.resolved', id: '7-1', decision: 'deny', by: 'timeout' });
    await useHolds.getState().load();
    expect(useHolds.getState().holds).toEqual([]);
    useHolds.getState().applyPush({ type: 'hold.new', hold: makeHold({ hold: 1 }) });
    expect(useHolds.getState().holds.map((h) => h.id)).toEqual(['7-1']);
  });

  it('Deny all skips holds that a previous deny resolved (the rest of a burst)', async () => {
    const t = new FakeTransport();
    installFake();
    const { setTransport } = await import('../../renderer/stores/api');
    setTransport(t);
    t.on('holds.decide', (p) => {
      // the daemon stops the burst: the other hold resolves right away
      if (p.id === '7-2')
        useHolds.getState().applyPush({ type: 'hold.resolved', id: '7-1', decision: 'deny', by: 'person' });
      return { rule: null };
    });
    useHolds.setState({ holds: [makeHold({ hold: 2, ts: 2 }), makeHold({ hold: 1, ts: 1 })] });
    await useHolds.getState().denyAllOfRun(7);
    expect(t.callsOf('holds.decide').map((p) => p.id)).toEqual(['7-2']);
    expect(useHolds.getState().holds).toEqual([]);
  });
});

describe('who decided', () => {
  it('remembers who answered each hold this page saw, by run and seq', async () => {
    installFake().on('holds.decide', () => ({ rule: null }));
    useHolds.getState().applyPush({ type: 'hold.new', hold: makeHold({ hold: 1, seq: 40 }) });
    useHolds.getState().applyPush({ type: 'hold.new', hold: makeHold({ hold: 2, seq: 41 }) });
    useHolds.getState().applyPush({ type: 'hold.resolved', id: '7-1', decision: 'deny', by: 'timeout' });
    await useHolds.getState().decide('7-2', 'allow');
    useHolds.getState().applyPush({ type: 'hold.resolved', id: '7-2', decision: 'allow', by: 'person' });
    expect(useHolds.getState().decidedBy).toEqual({ '7:40': 'timeout', '7:41': 'person' });
  });
});

describe('nav', () => {
  it('takes the first view from the fragment', async () => {
    const { initialView } = await import('../../renderer/stores/nav');
    expect(initialView('#token=abc&view=timeline')).toBe('timeline');
    expect(initialView('#view=restore')).toBe('restore');
    expect(initialView('#token=abc')).toBe('inbox');
    expect(initialView('#view=bogus')).toBe('inbox');
    expect(initialView('#/timeline')).toBe('timeline');
    expect(initialView('#/inbox?compact=1')).toBe('inbox');
    const { isCompact } = await import('../../renderer/stores/nav');
    expect(isCompact('#/inbox?compact=1')).toBe(true);
    expect(isCompact('#token=abc')).toBe(false);
  });
});
