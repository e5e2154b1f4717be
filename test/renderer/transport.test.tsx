import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  BrowserTransport,
  codeFromHash,
  exchangeCode,
  tokenFromHash,
} from '../../renderer/transport/browser';
import { ElectronTransport, type WardenBridge } from '../../renderer/transport/electron';
import { ApiError, type ConnectionStatus } from '../../renderer/transport/types';
import type { Push } from '../../core/api/contract';
import { makeHold } from './fake';

class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  closed = false;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeSocket.all.push(this);
  }
  close() {
    this.closed = true;
  }
}

/** The ApiError a call rejects with (fails the test if it resolves). */
function rejection(p: Promise<unknown>): Promise<ApiError> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: ApiError) => e,
  );
}

afterEach(() => {
  FakeSocket.all = [];
  vi.useRealTimers();
});

describe('browser transport', () => {
  it('reads the token from the fragment', () => {
    expect(tokenFromHash('#token=abc123')).toBe('abc123');
    expect(tokenFromHash('#/inbox&token=x%2By')).toBe('x+y');
    expect(tokenFromHash('')).toBe('');
  });

  it('trades a one-time #code= for #token=, keeping the rest of the fragment; a refused code is an ApiError', async () => {
    expect(codeFromHash('#code=c0de&view=timeline')).toBe('c0de');
    const fetch = vi.fn(async (_url: string, init: RequestInit) => {
      expect(JSON.parse(String(init.body))).toEqual({ code: 'c0de' });
      return new Response(JSON.stringify({ ok: true, result: { token: 't+k' } }), { status: 200 });
    });
    const hash = await exchangeCode('#code=c0de&view=timeline', {
      origin: 'http://h:1',
      fetch: fetch as never,
    });
    expect(hash).toBe('#token=t%2Bk&view=timeline');
    expect(fetch.mock.calls[0]![0]).toBe('http://h:1/api/ui.exchange');
    const refused = vi.fn(
      async () =>
        new Response(JSON.stringify({ ok: false, error: { code: 'bad-code', message: 'already used' } }), {
          status: 403,
        }),
    );
    const e = await rejection(exchangeCode('#code=c0de', { origin: 'http://h:1', fetch: refused as never }));
    expect(e.code).toBe('bad-code');
  });

  it('POSTs /api/<method> with the bearer token and unwraps answers', async () => {
    const fetch = vi.fn(async (url: string, init: RequestInit) => {
      const body = JSON.parse(init.body as string);
      if (url.endsWith('/api/holds.list')) return new Response(JSON.stringify({ ok: true, result: [body] }));
      return new Response(JSON.stringify({ ok: false, error: { code: 'no-such-hold', message: 'gone' } }), {
        status: 400,
      });
    });
    const t = new BrowserTransport({
      token: 'tok',
      origin: 'http://127.0.0.1:9',
      fetch: fetch as unknown as typeof globalThis.fetch,
      WebSocket: FakeSocket as unknown as typeof WebSocket,
    });
    expect(await t.call('holds.list', { run: 2 })).toEqual([{ run: 2 }]);
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('http://127.0.0.1:9/api/holds.list');
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>).authorization).toBe('Bearer tok');
    const err = await rejection(t.call('holds.decide', { id: '1-1', decision: 'deny' }));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('no-such-hold');
    const down = new BrowserTransport({
      token: 'tok',
      origin: 'http://127.0.0.1:9',
      fetch: (async () => {
        throw new TypeError('Failed to fetch');
      }) as unknown as typeof globalThis.fetch,
    });
    expect((await rejection(down.call('status', {}))).code).toBe('unreachable');
  });

  it('subscribes with sub-protocol warden.<token>, validates pushes, reconnects with backoff', async () => {
    vi.useFakeTimers();
    const t = new BrowserTransport({
      token: 'tok',
      origin: 'http://127.0.0.1:9',
      WebSocket: FakeSocket as unknown as typeof WebSocket,
      minDelayMs: 100,
      maxDelayMs: 400,
    });
    const statuses: ConnectionStatus[] = [];
    const pushes: Push[] = [];
    t.onStatus((s) => statuses.push(s));
    t.subscribe((p) => pushes.push(p));
    expect(FakeSocket.all).toHaveLength(1);
    const ws = FakeSocket.all[0]!;
    expect(ws.url).toBe('ws://127.0.0.1:9/api/events');
    expect(ws.protocols).toEqual(['warden.tok']);
    ws.onopen!();
    ws.onmessage!({ data: JSON.stringify({ type: 'hold.new', hold: makeHold() }) });
    ws.onmessage!({ data: JSON.stringify({ type: 'hold.new', hold: { id: 'bogus' } }) }); // fails the schema
    ws.onmessage!({ data: 'not json' });
    ws.onmessage!({ data: JSON.stringify({ type: 'run.started', run: 3 }) });
    expect(pushes.map((p) => p.type)).toEqual(['hold.new', 'run.started']);
    expect(statuses).toEqual(['connecting', 'connected']);

    ws.onclose!();
    expect(statuses.at(-1)).toBe('disconnected');
    vi.advanceTimersByTime(99);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(2);
    expect(statuses.at(-1)).toBe('disconnected'); // no flicker back to 'connecting' while retrying
    FakeSocket.all[1]!.onclose!();
    vi.advanceTimersByTime(199);
    expect(FakeSocket.all).toHaveLength(2); // backoff doubled
    vi.advanceTimersByTime(1);
    expect(FakeSocket.all).toHaveLength(3);
    FakeSocket.all[2]!.onopen!();
    expect(statuses).toEqual(['connecting', 'connected', 'disconnected', 'connected']);
    t.close();
    expect(FakeSocket.all[2]!.closed).toBe(true);
  });
});

describe('electron transport', () => {
  it('calls through window.warden, validates pushes, maps status', async () => {
    let push: (p: unknown) => void = () => {};
    let status: (s: string) => void = () => {};
    const bridge: WardenBridge = {
      call: vi.fn(async (method: string) => {
        if (method === 'status') return { pid: 1 };
        if (method === 'raw') return { ok: false, error: { code: 'x', message: 'refused' } };
        throw Object.assign(new Error('nope'), { code: 'no-such-run' });
      }),
      onPush: (cb) => ((push = cb), () => {}),
      onStatus: (cb) => ((status = cb), () => {}),
    };
    const t = new ElectronTransport(bridge);
    expect(await t.call('status', {})).toEqual({ pid: 1 });
    expect(bridge.call).toHaveBeenCalledWith('status', {});
    expect((await rejection(t.call('raw', {}))).code).toBe('x');
    expect((await rejection(t.call('run.get', { run: 9 }))).code).toBe('no-such-run');
    const got: Push[] = [];
    t.subscribe((p) => got.push(p));
    push({ type: 'run.ended', run: 2 });
    push({ type: 'nonsense' });
    expect(got).toEqual([{ type: 'run.ended', run: 2 }]);
    const st: string[] = [];
    t.onStatus((s) => st.push(s));
    status('connected');
    status('weird');
    expect(st).toEqual(['connected', 'disconnected']);
  });
});
