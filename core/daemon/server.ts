/**
 * The daemon's socket server: accepts API clients and helper wake-up connections on `state/warden.sock`
 * (mode 0600 inside the 0700 state dir: only the owning user can connect), parses every request with the
 * contract and dispatches it to the service. A bad message gets an error answer and changes nothing.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, unlinkSync, writeFileSync, rmSync, renameSync, lstatSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { newApiToken, startHttpApi, type HttpApi, type HttpApiOptions } from '../api/http.js';
import { TOKEN_RE } from '../api/http-guard.js';
import { connect } from 'node:net';
import { MAX_LINE_BYTES, helperHelloSchema, methods, requestSchema, type Method } from '../api/contract.js';
import { readLines } from '../api/framing.js';
import { WardenError, errorMessage } from '../util/errors.js';
import type { StateLayout } from '../util/paths.js';
import { Service } from './service.js';

export interface DaemonOptions {
  /** Exit after this many seconds with no client connected and no run in progress (0 = never). */
  idleExitSec: number;
  /** Where progress and faults are written (the daemon log when started on demand). */
  log: (line: string) => void;
  /** TCP port of the HTTP API on 127.0.0.1 (0 = random; null = no HTTP API, e.g. in unit tests). */
  httpPort?: number | null;
}

/** True when something accepts connections on the unix socket at `path`. */
export function socketAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    if (!existsSync(path)) return resolve(false);
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const apiJsonSchema = z.object({
  port: z.number().int().min(1).max(65535),
  token: z.string().regex(TOKEN_RE),
});

/**
 * The port and token a previous daemon of this state dir published in `api.json`, so a restarted daemon can
 * serve the same origin and accept the same token (an open UI page then reconnects by itself). Only a regular
 * file owned by this user with mode 0600 (no group/other bits) counts; anything else is ignored (null).
 */
export function previousApi(apiJson: string): { port: number; token: string } | null {
  try {
    const st = lstatSync(apiJson);
    if (!st.isFile() || (st.mode & 0o077) !== 0) return null;
    if (process.getuid && st.uid !== process.getuid()) return null;
    return apiJsonSchema.parse(JSON.parse(readFileSync(apiJson, 'utf8')));
  } catch {
    return null;
  }
}

/**
 * Starts the HTTP API, on the previous daemon's port with its token when `reuse` is given and the port is
 * free, else on `port` (0 = any) with a fresh token.
 */
async function startApiReusing(
  base: Omit<HttpApiOptions, 'port' | 'token'>,
  port: number,
  reuse: { port: number; token: string } | null,
  log: (line: string) => void,
): Promise<{ api: HttpApi; token: string }> {
  if (reuse) {
    try {
      const api = await startHttpApi({ ...base, port: reuse.port, token: reuse.token });
      log(`daemon: HTTP API reuses port ${reuse.port} and the token of the previous daemon`);
      return { api, token: reuse.token };
    } catch (err) {
      log(`daemon: port ${reuse.port} of the previous daemon is not available (${errorMessage(err)})`);
    }
  }
  const token = newApiToken();
  return { api: await startHttpApi({ ...base, port, token }), token };
}

/**
 * Starts the daemon for `layout` and resolves once it listens.
 * @throws WardenError('daemon-running') when another daemon already serves this state dir.
 */
export async function startDaemon(
  layout: StateLayout,
  opts: DaemonOptions,
): Promise<{ server: Server; stop: () => Promise<void> }> {
  if (await socketAlive(layout.socket)) {
    throw new WardenError(
      'daemon-running',
      `a warden daemon already serves ${layout.dir} (socket ${layout.socket})`,
    );
  }
  if (existsSync(layout.socket)) unlinkSync(layout.socket); // stale socket of a dead daemon
  const service = new Service(layout, opts.log);
  service.recover();
  await service.attachExtensions();

  const clients = new Set<Socket>();
  let idleTimer: NodeJS.Timeout | null = null;
  let stopping = false;
  const server = createServer((sock) => {
    clients.add(sock);
    if (idleTimer) clearTimeout(idleTimer);
    sock.on('close', () => {
      clients.delete(sock);
      armIdle();
    });
    sock.on('error', () => sock.destroy());
    serveConnection(sock, service, () => void stop());
  });

  function armIdle(): void {
    if (opts.idleExitSec <= 0 || stopping) return;
    if (idleTimer) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (clients.size === 0 && !service.busy()) void stop();
      else armIdle();
    }, opts.idleExitSec * 1000);
    idleTimer.unref();
  }

  let api: HttpApi | null = null;
  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    opts.log('daemon: stopping');
    for (const c of clients) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await api?.close();
    await service.closeExtensions();
    service.close();
    rmSync(layout.daemonPid, { force: true });
    // api.json stays: the next daemon reuses its port and token (readers check its pid against `status`)
  }

  const oldUmask = process.umask(0o177); // the socket file is created 0600
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(layout.socket, () => resolve());
  });
  process.umask(oldUmask);
  writeFileSync(layout.daemonPid, `${process.pid}\n`, { mode: 0o600 });
  if (opts.httpPort !== null) {
    const port = opts.httpPort ?? 0;
    // A restarted daemon serves the same origin with the same token, unless a port was asked for.
    const reuse = port === 0 ? previousApi(layout.apiJson) : null;
    const started = await startApiReusing(
      {
        dispatch: (m, p) => service.dispatch(m as Method, p as never),
        subscribe: (cb, f) => service.holds.subscribe(cb, f),
        socketPath: layout.apiSocket,
        host: '127.0.0.1',
        log: opts.log,
      },
      port,
      reuse,
      opts.log,
    );
    api = started.api;
    const token = started.token;
    const tmp = `${layout.apiJson}.${process.pid}`;
    writeFileSync(
      tmp,
      JSON.stringify({ port: api.port, token, socket: layout.apiSocket, pid: process.pid }) + '\n',
      {
        mode: 0o600,
      },
    );
    renameSync(tmp, layout.apiJson);
    opts.log(`daemon: HTTP API on 127.0.0.1:${api.port} and ${layout.apiSocket}`);
  }
  opts.log(`daemon: pid ${process.pid} serving ${layout.dir}`);
  armIdle();
  return { server, stop };
}

function serveConnection(sock: Socket, service: Service, shutdown: () => void): void {
  let helperRun: number | null = null;
  let first = true;
  let unsubscribe: (() => void) | null = null;
  const send = (msg: unknown) => {
    if (!sock.destroyed) sock.write(JSON.stringify(msg) + '\n');
  };
  sock.on('close', () => {
    unsubscribe?.();
    if (helperRun !== null) service.holds.detach(helperRun);
  });
  readLines(
    sock,
    MAX_LINE_BYTES,
    (line) => {
      if (helperRun !== null) {
        // From a helper: an empty line is a wake-up (new lines in its event log), anything else a hold message.
        if (line === '') service.wake(helperRun);
        else {
          try {
            service.holds.onHelperLine(helperRun, line);
          } catch (err) {
            service.log(`daemon: bad hold message from run ${helperRun}: ${errorMessage(err)}`);
          }
        }
        return;
      }
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        send({ id: 0, ok: false, error: { code: 'bad-json', message: 'request is not valid JSON' } });
        return;
      }
      if (first) {
        first = false;
        const hello = helperHelloSchema.safeParse(raw);
        if (hello.success) {
          const run = hello.data.run;
          helperRun = run;
          service.holds.attach(run, (l) => {
            if (!sock.destroyed) sock.write(l + '\n');
          });
          service.wake(run);
          return;
        }
      }
      const sub = subscribeRequest(raw);
      if (sub) {
        unsubscribe?.();
        unsubscribe = service.holds.subscribe((push) => send({ push }), { run: sub.run });
        send({ id: sub.id, ok: true, result: { subscribed: true } });
        return;
      }
      void handleRequest(raw, service, shutdown).then(send);
    },
    () =>
      send({
        id: 0,
        ok: false,
        error: { code: 'too-large', message: `request over ${MAX_LINE_BYTES} bytes` },
      }),
  );
}

/** A valid `events.subscribe` request, or null. */
function subscribeRequest(raw: unknown): { id: number; run?: number } | null {
  const req = requestSchema.safeParse(raw);
  if (!req.success || req.data.method !== 'events.subscribe') return null;
  const params = methods['events.subscribe'].params.safeParse(req.data.params ?? {});
  return params.success ? { id: req.data.id, run: params.data.run } : null;
}

async function handleRequest(raw: unknown, service: Service, shutdown: () => void): Promise<unknown> {
  const req = requestSchema.safeParse(raw);
  if (!req.success) {
    return {
      id: 0,
      ok: false,
      error: { code: 'bad-request', message: req.error.issues.map((i) => i.message).join('; ') },
    };
  }
  const { id, method } = req.data;
  if (!Object.hasOwn(methods, method)) {
    return {
      id,
      ok: false,
      error: { code: 'unknown-method', message: `unknown method ${JSON.stringify(method)}` },
    };
  }
  const params = methods[method as Method].params.safeParse(req.data.params ?? {});
  if (!params.success) {
    const message = params.error.issues
      .map((i) => `${i.path.join('.') || 'params'}: ${i.message}`)
      .join('; ');
    return { id, ok: false, error: { code: 'bad-params', message: `${method}: ${message}` } };
  }
  try {
    if (method === 'shutdown') {
      setImmediate(shutdown);
      return { id, ok: true, result: { stopping: true } };
    }
    const result = await service.dispatch(method as Method, params.data);
    return { id, ok: true, result };
  } catch (err) {
    if (err instanceof WardenError) {
      return {
        id,
        ok: false,
        error: { code: err.code, message: err.message, exit: err.exitCode, details: err.details },
      };
    }
    return { id, ok: false, error: { code: 'internal', message: errorMessage(err) } };
  }
}
