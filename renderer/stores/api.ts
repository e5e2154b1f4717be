// The one Transport every store talks through (set once by the app, or by a test with a fake).
import type { Transport } from '../transport/types';

let current: Transport | null = null;

export function setTransport(t: Transport | null): void {
  current = t;
}

export function getTransport(): Transport {
  if (!current) throw new Error('no transport: call setTransport() first');
  return current;
}

export function api<T = unknown>(method: string, params: unknown = {}): Promise<T> {
  return getTransport().call(method, params) as Promise<T>;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
