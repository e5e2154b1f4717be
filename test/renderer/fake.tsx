// A fake Transport: the unit boundary of the UI tests (the real daemon is exercised by the e2e tests).
import type { Push, Hold } from '../../core/api/contract';
import type { ConnectionStatus, Transport } from '../../renderer/transport/types';
import { ApiError } from '../../renderer/transport/types';
import { setTransport } from '../../renderer/stores/api';

type Handler = (params: Record<string, unknown>) => unknown;

export class FakeTransport implements Transport {
  readonly calls: { method: string; params: Record<string, unknown> }[] = [];
  private readonly handlers = new Map<string, Handler>();
  private readonly pushCbs = new Set<(p: Push) => void>();
  private readonly statusCbs = new Set<(s: ConnectionStatus) => void>();
  status: ConnectionStatus = 'connecting';

  on(method: string, h: Handler): this {
    this.handlers.set(method, h);
    return this;
  }

  async call(method: string, params: unknown): Promise<unknown> {
    const p = (params ?? {}) as Record<string, unknown>;
    this.calls.push({ method, params: p });
    const h = this.handlers.get(method);
    if (!h) throw new ApiError('unknown-method', `fake: no handler for ${method}`);
    return h(p);
  }

  callsOf(method: string): Record<string, unknown>[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params);
  }

  subscribe(onPush: (p: Push) => void): () => void {
    this.pushCbs.add(onPush);
    return () => this.pushCbs.delete(onPush);
  }

  onStatus(cb: (s: ConnectionStatus) => void): () => void {
    this.statusCbs.add(cb);
    cb(this.status);
    return () => this.statusCbs.delete(cb);
  }

  push(p: Push): void {
    for (const cb of this.pushCbs) cb(p);
  }

  setStatus(s: ConnectionStatus): void {
    this.status = s;
    for (const cb of this.statusCbs) cb(s);
  }
}

export function installFake(): FakeTransport {
  const t = new FakeTransport();
  setTransport(t);
  return t;
}

export function makeHold(over: Partial<Hold> = {}): Hold {
  const run = over.run ?? 7;
  const hold = over.hold ?? 1;
  return {
    id: `${run}-${hold}`,
    run,
    hold,
    seq: 10,
    ts: 1_000 + hold,
    deadline: Date.now() + 90_000,
    fallback: 'deny',
    decision: 'ask',
    reason: 'bulk',
    rule: 'delay-workspace-delete',
    band: '30-delete',
    why: 'Deleting many files at once',
    op: 'delete',
    sys: 'unlinkat',
    path: '/ws/data/a.txt',
    path2: null,
    pid: 4242,
    cwd: '/ws',
    argv: ['rm', '-rf', 'data'],
    chain: [
      { pid: 4000, argv: ['claude'] },
      { pid: 4242, argv: ['rm', '-rf', 'data'] },
    ],
    burst: { root: '/ws/data', count: 51 },
    preview: {
      kind: 'delete',
      files: 10000,
      bytes: 1_200_000,
      top: [{ path: '/ws/data/cache', files: 9000, bytes: 1_000_000 }],
      truncated: false,
    },
    irreversible: null,
    ...over,
  };
}

/** Lets pending promise callbacks run. */
export const flush = () => new Promise((r) => setTimeout(r, 0));
