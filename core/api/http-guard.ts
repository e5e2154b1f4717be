/**
 * Who may talk to the local HTTP API. On the unix socket the file mode (0600 in the 0700 state dir) is the
 * gate. On 127.0.0.1 every request needs the bearer token created at daemon start, a `Host` naming the
 * loopback port (DNS-rebinding defence) and no cross-site `Origin` (a browser tab cannot drive the API).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Which listener a request came in on. */
export type Transport = 'unix' | 'tcp';

/** Why a request is refused: the status and error to answer with. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

/** Shape of an API token: URL- and header-safe, long enough not to be guessed. */
export const TOKEN_RE = /^[A-Za-z0-9_-]{32,256}$/;

/** WebSocket sub-protocol prefix carrying the token (`Sec-WebSocket-Protocol: warden.<token>`). */
export const PROTOCOL_PREFIX = 'warden.';

/** A fresh random API token (256 bits, base64url), for the daemon to create at start. */
export function newApiToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of a presented token with the real one (hashing first equalises lengths). */
export function tokenEquals(given: string, token: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(token, 'utf8').digest();
  return timingSafeEqual(a, b) && given.length === token.length;
}

/** The path part of a request target (no query), or null for targets that are not origin-form. */
export function pathOf(url: string | undefined): string | null {
  if (!url || url[0] !== '/') return null;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The query parameters of a request target (empty when there are none or they cannot be read). */
export function queryOf(url: string | undefined): URLSearchParams {
  const q = url?.indexOf('?') ?? -1;
  if (!url || q === -1) return new URLSearchParams();
  try {
    return new URLSearchParams(url.slice(q + 1));
  } catch {
    return new URLSearchParams();
  }
}

/**
 * Checks `Host` and `Origin` of a TCP request against the loopback `port`.
 * @returns null when both are acceptable, else the 403 refusal.
 */
export function checkSite(req: IncomingMessage, port: number): Refusal | null {
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`];
  const host = req.headers.host?.toLowerCase();
  if (host === undefined || !allowed.includes(host)) {
    return {
      status: 403,
      code: 'forbidden-host',
      message: `Host must be 127.0.0.1:${port} or localhost:${port}`,
    };
  }
  const origin = req.headers.origin;
  if (origin !== undefined && !allowed.some((a) => origin.toLowerCase() === `http://${a}`)) {
    return { status: 403, code: 'forbidden-origin', message: 'cross-site requests are refused' };
  }
  return null;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerOf(req: IncomingMessage): string | null {
  const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  return m?.[1] ?? null;
}

/** The token a WebSocket upgrade presents: bearer header, `warden.<token>` sub-protocol, or `?token=`. */
export function upgradeTokenOf(req: IncomingMessage): string | null {
  const bearer = bearerOf(req);
  if (bearer !== null) return bearer;
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const proto = protocols.find((p) => p.startsWith(PROTOCOL_PREFIX));
  if (proto !== undefined) return proto.slice(PROTOCOL_PREFIX.length);
  return queryOf(req.url).get('token');
}

/**
 * Checks a presented token.
 * @returns null when it matches, else the 401 refusal.
 */
export function checkToken(given: string | null, token: string): Refusal | null {
  if (given !== null && tokenEquals(given, token)) return null;
  return {
    status: 401,
    code: 'unauthorized',
    message: given === null ? 'missing API token' : 'wrong API token',
    headers: { 'WWW-Authenticate': 'Bearer realm="warden"' },
  };
}
