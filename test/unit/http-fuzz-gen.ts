/**
 * Generators for the HTTP API fuzz test: a seeded PRNG's picks of contract-shaped params, structural and
 * byte-level mutations of them, the status the contract alone says each should get, and a bounded runner.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { methods, type Method } from '../../core/api/contract.js';
import { HIDDEN_METHODS } from '../../core/api/http-request.js';

export const SEED = Number(process.env.WARDEN_FUZZ_SEED ?? 20261124);
const BUDGET_MS = 6000;

const seeds: Record<string, unknown[]> = {
  'holds.list': [{}, { run: 1 }],
  'holds.decide': [
    { id: '3-1', decision: 'deny' },
    { id: '12-40', decision: 'allow', scope: 'always' },
  ],
  status: [{}],
  'run.start': [
    {
      argv: ['ls', '-l'],
      cwd: '/w',
      workspace: '/w',
      home: '/h',
      tmp: ['/tmp'],
      policies: [],
      landlock: false,
    },
  ],
  'run.finish': [{ run: 1, exitCode: 0, signal: null }],
  'runs.list': [{ limit: 5 }, {}],
  'run.get': [{ run: 'last' }, { run: 3 }],
  'run.log': [{ run: 1, afterSeq: 0, limit: 10, op: 'unlink' }],
  'rollback.plan': [{ run: 1, paths: ['a/b'], all: false }],
  'rollback.apply': [{ run: 'last', force: true }],
  'policy.show': [{ workspace: '/w', policies: ['p.yaml'] }],
  shutdown: [{}],
  'events.subscribe': [{}],
};
export const names = Object.keys(seeds);
const keys = [
  'id',
  'run',
  'decision',
  'scope',
  'argv',
  'limit',
  'paths',
  'all',
  '__proto__',
  'constructor',
  'x',
];
const atoms: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  2 ** 53,
  1e308,
  '',
  'last',
  '/abs',
  'rel',
  '3-1',
  '1-0',
];
atoms.push('deny', 'allow', 'always', 'x'.repeat(3000), [], ['a'], [1], {}, { a: 1 });

export type Rnd = () => number;
export const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
export const int = (r: Rnd, n: number) => Math.floor(r() * n);

function mutateValue(r: Rnd, v: unknown, depth = 0): unknown {
  if (depth > 3 || r() < 0.15) return r() < 0.5 ? pick(r, atoms) : structuredClone(pick(r, atoms));
  if (Array.isArray(v))
    return r() < 0.5 ? [...v, pick(r, atoms)] : v.map((x) => mutateValue(r, x, depth + 1));
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = { ...(v as Record<string, unknown>) };
    const ks = Object.keys(o);
    const k = ks.length > 0 && r() < 0.7 ? pick(r, ks) : pick(r, keys);
    const what = r();
    if (what < 0.25) delete o[k];
    else if (what < 0.85) o[k] = mutateValue(r, o[k], depth + 1);
    else return [o];
    return o;
  }
  return pick(r, atoms);
}

export function mutateText(r: Rnd, s: string): Buffer {
  const b = Buffer.from(s);
  const i = int(r, b.length + 1);
  switch (int(r, 7)) {
    case 0:
      return Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
    case 1:
      return Buffer.concat([b.subarray(0, i), Buffer.from([int(r, 256)]), b.subarray(i)]);
    case 2:
      return b.subarray(0, i);
    case 3:
      return Buffer.concat([
        b.subarray(0, i),
        Buffer.from(pick(r, ['"', '{', '}', '[', ',', ':', '\\', '\u2028', '\0'])),
        b.subarray(i),
      ]);
    case 4:
      return Buffer.from(Array.from({ length: int(r, 64) }, () => int(r, 256)));
    case 5:
      return Buffer.from('['.repeat(int(r, 20000)) + ']'.repeat(int(r, 20000)));
    default:
      return Buffer.from(s.replace(/"([a-z]+)"/, (_m, k: string) => `"${k}${k}"`));
  }
}

/** A JSON text for `method`: a seed, a structurally mutated seed, or a byte-mutated one. */
export function body(r: Rnd, method: string): Buffer {
  const seed = pick(r, Object.hasOwn(seeds, method) ? (seeds[method] as unknown[]) : [{}]);
  const roll = r();
  if (roll < 0.2) return Buffer.from(JSON.stringify(seed));
  if (roll < 0.7) return Buffer.from(JSON.stringify(mutateValue(r, seed)) ?? '');
  return mutateText(r, JSON.stringify(r() < 0.5 ? seed : mutateValue(r, seed)) ?? '{}');
}

/** Expected status of a body for a served method, judged by the contract alone. */
export function expected(method: string, b: Buffer): number {
  if (HIDDEN_METHODS.has(method) || !Object.hasOwn(methods, method)) return 404;
  if (b.length === 0) return methods[method as Method].params.safeParse({}).success ? 200 : 400;
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b));
  } catch {
    return 400;
  }
  return methods[method as Method].params.safeParse(raw).success ? 200 : 400;
}

/** Runs `task(i)` with `width` in flight until `n` are done or the time budget is spent; sums up the statuses. */
export async function pool(n: number, width: number, task: (i: number) => Promise<number>): Promise<string> {
  const seen = new Map<number, number>();
  const end = Date.now() + BUDGET_MS;
  let next = 0;
  const worker = async () => {
    while (next < n && Date.now() < end) {
      const status = await task(next++);
      seen.set(status, (seen.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  assert.ok(next >= 300, `only ${next} cases ran`);
  return `${next} cases; statuses ${JSON.stringify(Object.fromEntries([...seen].sort()))}`;
}

/** Sends raw bytes on a fresh connection, half-closes, resolves with everything that came back. */
export function raw(target: { port: number } | { path: string }, payload: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = 'path' in target ? connect(target.path) : connect(target.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => {});
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.end(payload);
  });
}
