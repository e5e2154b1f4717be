/**
 * Shared fixtures for the HTTP API tests: a real server with a fake `dispatch` (records every call and
 * checks it against the contract) and a fake push hub, plus raw HTTP helpers over TCP and the unix socket.
 */
import { request, Agent } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpApi, newApiToken, type HttpApi } from '../../core/api/http.js';
import { methods, type Method, type Push } from '../../core/api/contract.js';

/** A call `dispatch` received, and whether its params pass the method's contract schema. */
export interface Call {
  method: string;
  params: unknown;
  valid: boolean;
}

/** A fake daemon side: `dispatch` echoes, `behaviour` can make it throw; `hub` fans pushes out. */
export interface Fixture {
  api: HttpApi;
  token: string;
  dir: string;
  socketPath: string;
  calls: Call[];
  logs: string[];
  behaviour: { fail?: unknown };
  listeners: Set<{ onPush: (p: Push) => void; run?: number }>;
  emit(p: Push): void;
  stop(): Promise<void>;
}

/** Starts a real API server with fakes behind it. */
export async function startFixture(extra: { maxBodyBytes?: number; pingIntervalMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'warden-http-'));
  const socketPath = join(dir, 'api.sock');
  const token = newApiToken();
  const calls: Call[] = [];
  const logs: string[] = [];
  const behaviour: Fixture['behaviour'] = {};
  const listeners: Fixture['listeners'] = new Set();
  const api = await startHttpApi({
    dispatch: async (method, params) => {
      const schema = Object.hasOwn(methods, method) ? methods[method as Method].params : null;
      calls.push({ method, params, valid: schema !== null && schema.safeParse(params).success });
      if (behaviour.fail !== undefined) throw behaviour.fail;
      return { method, params };
    },
    subscribe: (onPush, filter) => {
      const entry = { onPush, run: filter?.run };
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    socketPath,
    host: '127.0.0.1',
    port: 0,
    token,
    log: (l) => logs.push(l),
    ...extra,
  });
  const fixture: Fixture = {
    api,
    token,
    dir,
    socketPath,
    calls,
    logs,
    behaviour,
    listeners,
    emit: (p) => {
      for (const l of listeners) {
        const run = 'run' in p ? p.run : 'hold' in p ? p.hold.run : Number(p.id.split('-')[0]);
        if (l.run === undefined || l.run === run) l.onPush(p);
      }
    },
    stop: async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** An HTTP answer: status, headers and the body parsed as JSON (null when it is not JSON). */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: { ok: boolean; result?: unknown; error?: { code: string; message: string } } | null;
}

/** Options of `call`: TCP (default, with the fixture's token and Host) or the unix socket. */
export interface CallOptions {
  unix?: boolean;
  verb?: string;
  headers?: Record<string, string>;
  /** Omit the default Authorization header. */
  noAuth?: boolean;
  agent?: Agent;
}

/** Sends one request with `node:http` and collects the answer. */
export function call(f: Fixture, path: string, body?: string | Buffer, o: CallOptions = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (!o.unix && !o.noAuth) headers.authorization = `Bearer ${f.token}`;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      // node:http would send a GET/HEAD/DELETE/OPTIONS body without a length
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    Object.assign(headers, o.headers);
    const req = request(
      {
        ...(o.unix ? { socketPath: f.socketPath } : { host: '127.0.0.1', port: f.api.port }),
        path,
        method: o.verb ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        agent: o.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let json: Answer['json'] = null;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Writes raw bytes to the TCP port (optionally never ending the stream) and resolves with what came back. */
export function rawTcp(
  port: number,
  payload: string | Buffer,
  opts: { end?: boolean } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(
        new Error(`no close within 5 s; got ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`),
      );
    }, 5000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('latin1'));
    });
    s.on('error', () => {}); // a reset after the answer still resolves on 'close'
    s.write(payload);
    if (opts.end !== false) s.end();
  });
}

/** The status of the first HTTP answer in raw response text, or 0 if there is none. */
export function statusOf(raw: string): number {
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(raw);
  return m ? Number(m[1]) : 0;
}

/** A deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
