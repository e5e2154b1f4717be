import { BrowserTransport, tokenFromHash } from './browser';
import { ElectronTransport } from './electron';
import type { Transport } from './types';

export type { Transport, ConnectionStatus } from './types';
export { ApiError } from './types';
export type { WardenBridge } from './electron';

/** The Electron transport when the preload exposed `window.warden`, else HTTP + WebSocket with `#token=`. */
export function pickTransport(): Transport {
  if (typeof window !== 'undefined' && window.warden) return new ElectronTransport(window.warden);
  return new BrowserTransport({ token: tokenFromHash(location.hash) });
}
