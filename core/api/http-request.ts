/**
 * One HTTP request of the local API: `POST /api/<method>` with that method's params as a JSON body, parsed
 * with the contract's schema before anything is dispatched, answered `{ok:true,result}` or
 * `{ok:false,error:{code,message}}` with a fitting status. `GET /api/health` needs no token, and neither do
 * the UI's static files (GET/HEAD outside `/api/` on TCP, see http-static.ts); the Host check applies to all.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { methods, type Method } from './contract.js';
import { checkSite, checkToken, bearerOf, pathOf, type Refusal, type Transport } from './http-guard.js';
import { WardenError, errorMessage } from '../util/errors.js';
import { serveStatic } from './http-static.js';
import { exchangeSchema, type UiCodes } from './http-ui-code.js';

/** Path of the WebSocket endpoint (served by the upgrade handler, not here). */
export const EVENTS_PATH = '/api/events';
/** Methods never served over HTTP: `shutdown` (daemon-internal), `events.subscribe` (use the WebSocket). */
/** Methods not served over HTTP: the daemon's own lifecycle and the CLI-only run registration. */
export const HIDDEN_METHODS: ReadonlySet<string> = new Set([
  'shutdown',
  'events.subscribe',
  'run.start',
  'run.finish',
]);
const HIDDEN = HIDDEN_METHODS;

/** What a request handler needs to know about its listener and the daemon. */
export interface RequestContext {
  transport: Transport;
  /** The TCP port (Host / Origin checks); unused on the unix socket. */
  port(): number;
  token: string;
  maxBodyBytes: number;
  dispatch(method: string, params: unknown): Promise<unknown>;
  log(line: string): void;
  /** Directory of the UI's static files served on TCP for GET/HEAD outside `/api/` (null: none). */
  staticRoot: string | null;
  /** One-time codes for `warden ui` (http-ui-code.ts); absent: `/api/ui.code` and `/api/ui.exchange` are 404. */
  uiCodes?: UiCodes;
}

/** True when a request announces a body (chunked, or a Content-Length other than 0). */
function hasBody(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (declared !== undefined && declared !== '0');
}

/** Writes a JSON answer. Error answers to requests whose body was not read close the connection. */
export function sendJson(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  const close = status >= 400 && hasBody(req) && !req.complete; // unread body bytes may follow
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(close ? { Connection: 'close' } : {}),
    ...headers,
  });
  res.end(req.method === 'HEAD' ? undefined : text);
}

function refuse(req: IncomingMessage, res: ServerResponse, r: Refusal): void {
  sendJson(req, res, r.status, { ok: false, error: { code: r.code, message: r.message } }, r.headers);
}

/** The contract method named by an `/api/<method>` path, or null if there is none served over HTTP. */
export function methodOf(path: string): Method | null {
  if (!path.startsWith('/api/')) return null;
  const name = path.slice('/api/'.length);
  return Object.hasOwn(methods, name) && !HIDDEN.has(name) ? (name as Method) : null;
}

/** True for `application/json`, optionally with `charset=utf-8`. */
function isJsonType(type: string): boolean {
  const [essence, ...params] = type.split(';').map((s) => s.trim().toLowerCase());
  if (essence !== 'application/json') return false;
  return params.every((p) => p === '' || p === 'charset=utf-8' || p === 'charset="utf-8"');
}

/**
 * Reads the request body, giving up (without keeping what came) once it exceeds `max` bytes.
 * @returns the body, or null when it was too large.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        resolve(null);
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Maps an error thrown by `dispatch` to a status and error body; unexpected ones never leak details. */
function failure(
  method: string,
  err: unknown,
  log: (line: string) => void,
): [number, Record<string, unknown>] {
  if (err instanceof WardenError) {
    const status = /^(no-such-|unknown-)|not-found/.test(err.code) ? 404 : err.exitCode === 2 ? 400 : 409;
    return [status, { code: err.code, message: err.message, exit: err.exitCode, details: err.details }];
  }
  log(`http: ${method} failed: ${err instanceof Error ? (err.stack ?? err.message) : errorMessage(err)}`);
  return [500, { code: 'internal', message: `${method} failed with an internal error (see the daemon log)` }];
}

const tooLarge = (max: number): Refusal => ({
  status: 413,
  code: 'too-large',
  message: `request body over ${max} bytes`,
});

/** Serves one request; never throws (an unexpected fault answers 500, or drops the connection). */
export function handleRequest(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): void {
  req.on('error', () => req.destroy());
  serve(ctx, req, res).catch((err: unknown) => {
    ctx.log(`http: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (res.headersSent) res.destroy();
    else refuse(req, res, { status: 500, code: 'internal', message: 'internal error' });
  });
}

async function serve(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (ctx.transport === 'tcp') {
    const site = checkSite(req, ctx.port());
    if (site) return refuse(req, res, site);
  }
  const path = pathOf(req.url);
  if (
    ctx.transport === 'tcp' &&
    ctx.staticRoot !== null &&
    path !== null &&
    (req.method === 'GET' || req.method === 'HEAD') &&
    path !== '/api' &&
    !path.startsWith('/api/')
  ) {
    // The UI's files need no token: the page reads it from the URL fragment, which is never sent here.
    return serveStatic(ctx.staticRoot, ctx.port(), path, req, res);
  }
  if (path === '/api/health') {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return refuse(req, res, {
        status: 405,
        code: 'bad-verb',
        message: 'use GET',
        headers: { Allow: 'GET' },
      });
    }
    return sendJson(req, res, 200, { ok: true });
  }
  if (ctx.uiCodes && (path === '/api/ui.code' || path === '/api/ui.exchange')) {
    return uiCode(ctx, ctx.uiCodes, path, req, res);
  }
  if (ctx.transport === 'tcp') {
    const auth = checkToken(bearerOf(req), ctx.token);
    if (auth) return refuse(req, res, auth);
  }
  if (path === EVENTS_PATH) {
    return refuse(req, res, {
      status: 426,
      code: 'upgrade-required',
      message: `${EVENTS_PATH} is a WebSocket endpoint`,
      headers: { Upgrade: 'websocket' },
    });
  }
  const method = path === null ? null : methodOf(path);
  if (method === null)
    return refuse(req, res, { status: 404, code: 'not-found', message: 'no such endpoint' });
  if (req.method !== 'POST') {
    return refuse(req, res, {
      status: 405,
      code: 'bad-verb',
      message: 'use POST',
      headers: { Allow: 'POST' },
    });
  }
  const type = req.headers['content-type'];
  if (type !== undefined ? !isJsonType(type) : hasBody(req)) {
    return refuse(req, res, {
      status: 415,
      code: 'unsupported-media-type',
      message: 'send the params as Content-Type: application/json',
    });
  }
  if (Number(req.headers['content-length'] ?? 0) > ctx.maxBodyBytes) {
    return refuse(req, res, tooLarge(ctx.maxBodyBytes));
  }
  const body = await readBody(req, ctx.maxBodyBytes);
  if (body === null) return refuse(req, res, tooLarge(ctx.maxBodyBytes));

  let raw: unknown = {};
  if (body.length > 0) {
    try {
      raw = JSON.parse(decoder.decode(body));
    } catch {
      return refuse(req, res, { status: 400, code: 'bad-json', message: 'body is not valid UTF-8 JSON' });
    }
  }
  const params = methods[method].params.safeParse(raw);
  if (!params.success) {
    const message = params.error.issues
      .slice(0, 10)
      .map((i) => `${i.path.join('.') || 'params'}: ${i.message}`)
      .join('; ');
    return refuse(req, res, { status: 400, code: 'bad-params', message: `${method}: ${message}` });
  }
  let result: unknown;
  try {
    result = await ctx.dispatch(method, params.data);
  } catch (err) {
    const [status, error] = failure(method, err, ctx.log);
    return sendJson(req, res, status, { ok: false, error });
  }
  sendJson(req, res, 200, { ok: true, result: result ?? null });
}

/**
 * `POST /api/ui.code` (unix socket only) issues a one-time code; `POST /api/ui.exchange` (127.0.0.1 only,
 * body `{code}`) trades an unused, unexpired code for the token (403 `bad-code` otherwise).
 */
async function uiCode(
  ctx: RequestContext,
  codes: UiCodes,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const wanted = path === '/api/ui.code' ? 'unix' : 'tcp';
  if (ctx.transport !== wanted)
    return refuse(req, res, { status: 404, code: 'not-found', message: 'no such endpoint' });
  if (req.method !== 'POST')
    return refuse(req, res, {
      status: 405,
      code: 'bad-verb',
      message: 'use POST',
      headers: { Allow: 'POST' },
    });
  const body = await readBody(req, 1024);
  if (body === null) return refuse(req, res, tooLarge(1024));
  if (wanted === 'unix') return sendJson(req, res, 200, { ok: true, result: codes.issue() });
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(body));
  } catch {
    return refuse(req, res, { status: 400, code: 'bad-json', message: 'body is not valid UTF-8 JSON' });
  }
  const p = exchangeSchema.safeParse(raw);
  if (!p.success)
    return refuse(req, res, { status: 400, code: 'bad-params', message: 'ui.exchange: send {"code": "…"}' });
  if (!codes.redeem(p.data.code)) {
    return refuse(req, res, {
      status: 403,
      code: 'bad-code',
      message: 'this code is unknown, expired or already used: run `warden ui` again',
    });
  }
  sendJson(req, res, 200, { ok: true, result: { token: ctx.token } });
}
