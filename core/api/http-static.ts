/**
 * The desktop UI's static files (`dist/renderer/`, built by `npm run build:renderer`) served by the daemon on
 * its 127.0.0.1 listener, so a browser tab opened at `http://127.0.0.1:<port>/#token=…` gets the page and then
 * talks to `/api/*` with the token from the URL fragment (browsers never send the fragment to the server).
 *
 * The files themselves need no token (they hold no secrets; the Host check still applies, against DNS
 * rebinding). A request path is decoded one segment at a time and refused when a segment decodes to `.`/`..`
 * or to something holding `/`, `\` or a control character (NUL included); the file is then resolved and must
 * lie beneath the real path of the root (symlinks cannot lead out). Every answer carries a strict
 * Content-Security-Policy (scripts and styles from this origin only, WebSocket only to this port), `nosniff`
 * and `no-referrer`; `index.html` is never cached.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { packageRoot } from '../util/paths.js';

/** Where `npm run build:renderer` writes the UI. */
export const DEFAULT_STATIC_ROOT = join(packageRoot, 'dist', 'renderer');

/** Largest file served (the UI's bundles are far smaller). */
const MAX_FILE_BYTES = 32 << 20;

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
};

/** The content type of a file name (by extension; unknown ones are opaque bytes). */
export function contentTypeOf(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** The Content-Security-Policy of the UI served on `port`. */
export function uiCsp(port: number): string {
  // The directives of the page's own <meta> CSP (renderer/index.html, = electron/csp.ts), with the daemon's
  // WebSocket origin written out (older engines do not let 'self' cover ws:) and frame-ancestors, which only
  // works as a header.
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-src 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers every static answer carries. */
export function securityHeaders(port: number): Record<string, string> {
  return {
    'Content-Security-Policy': uiCsp(port),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
}

/** Outcome of mapping a request path to a file below the root. */
export type StaticTarget =
  | { kind: 'file'; rel: string }
  | { kind: 'bad'; message: string } // 400: malformed or hostile path
  | { kind: 'missing' }; // 404

/**
 * Maps a request path (already stripped of its query) to a relative file path below the root, refusing
 * anything that could leave it: percent-decoding is done per segment and a segment that decodes to `..`, `.`,
 * or contains `/`, `\`, NUL or another control character is refused; so are empty segments (`//`).
 * `/` and paths ending in `/` mean `index.html` of that directory.
 */
export function staticTarget(path: string): StaticTarget {
  if (!path.startsWith('/')) return { kind: 'bad', message: 'not an origin-form path' };
  const raw = path.slice(1).split('/');
  const segs: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i] as string;
    if (r === '') {
      if (i === raw.length - 1) break; // trailing slash: the directory's index.html
      return { kind: 'bad', message: 'empty path segment' };
    }
    let seg: string;
    try {
      seg = decodeURIComponent(r);
    } catch {
      return { kind: 'bad', message: 'malformed percent-encoding' };
    }
    // eslint-disable-next-line no-control-regex
    if (/[/\\\x00-\x1f\x7f]/.test(seg)) return { kind: 'bad', message: 'forbidden character in path' };
    if (seg === '.' || seg === '..') return { kind: 'bad', message: 'dot segments are not served' };
    if (seg.startsWith('.')) return { kind: 'missing' }; // no hidden files
    segs.push(seg);
  }
  if (segs.length === 0 || path.endsWith('/')) segs.push('index.html');
  return { kind: 'file', rel: segs.join('/') };
}

/** The page answered for `/` when the UI has not been built. */
function notBuiltPage(): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Warden — UI not built</title></head>',
    '<body><main><h1>Warden</h1>',
    '<p>The desktop UI has not been built in this checkout. Run <code>npm run build:renderer</code>, then reload.</p>',
    '<p>The command line works without it: <code>warden pending</code>, <code>warden log</code>, <code>warden rollback</code>.</p>',
    '</main></body></html>',
    '',
  ].join('\n');
}

function send(
  req: IncomingMessage,
  res: ServerResponse,
  port: number,
  status: number,
  type: string,
  body: Buffer | string,
  extra: Record<string, string> = {},
): void {
  const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(data.length),
    ...securityHeaders(port),
    ...extra,
  });
  res.end(req.method === 'HEAD' ? undefined : data);
}

function sendError(req: IncomingMessage, res: ServerResponse, port: number, status: number, msg: string) {
  send(req, res, port, status, 'text/plain; charset=utf-8', `${msg}\n`, { 'Cache-Control': 'no-store' });
}

/** Reads a regular file of at most MAX_FILE_BYTES (null when it is anything else or cannot be read). */
function readRegular(file: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return null;
    return readFileSync(fd);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Resolves `rel` beneath `root` (both through realpath: a symlink pointing out of the root is not followed).
 * @returns the absolute file path, or null when it does not exist or lies outside.
 */
function resolveBeneath(root: string, rel: string): string | null {
  let realRoot: string;
  let real: string;
  try {
    realRoot = realpathSync(root);
    real = realpathSync(join(realRoot, rel));
  } catch {
    return null;
  }
  return real.startsWith(realRoot + sep) ? real : null;
}

/**
 * Serves one GET/HEAD request for a static file of the UI. Never throws for a bad path: answers 400/404.
 * There is no fallback to `index.html` for unknown paths: the UI routes inside the page.
 *
 * Synchronous on purpose: the files are small and local, and answering in the same tick means a client that
 * half-closes right after its request (node:http then ends the socket) still gets its answer.
 */
export function serveStatic(
  root: string,
  port: number,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const target = staticTarget(path);
  if (target.kind === 'bad') return sendError(req, res, port, 400, `bad path: ${target.message}`);
  if (target.kind === 'missing') return sendError(req, res, port, 404, 'not found');
  if (!existsSync(join(root, 'index.html'))) {
    if (target.rel === 'index.html') {
      return send(req, res, port, 200, 'text/html; charset=utf-8', notBuiltPage(), {
        'Cache-Control': 'no-store',
      });
    }
    return sendError(req, res, port, 404, 'not found (the UI is not built: npm run build:renderer)');
  }
  const rel = target.rel;
  const file = resolveBeneath(root, rel);
  const data = file === null ? null : readRegular(file);
  if (file === null || data === null) return sendError(req, res, port, 404, 'not found');
  const cache =
    extname(file) === '.html'
      ? 'no-store'
      : rel.startsWith('assets/')
        ? 'public, max-age=31536000, immutable' // Vite names assets by content hash
        : 'no-cache';
  send(req, res, port, 200, contentTypeOf(file), data, { 'Cache-Control': cache });
}
