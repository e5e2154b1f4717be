/**
 * One run's egress proxy: an HTTP/1.1 proxy on a unix socket (forwarded into the run's network namespace by
 * warden-netns) that serves `CONNECT host:port` tunnels (RFC 9110 §9.3.6) and absolute-form plain-HTTP requests
 * (RFC 9112 §3.2.2). Node's http module parses; every connection is put to the `gate` (policy, holds) before a
 * byte goes out, and reported to `record` when it ends. Malformed requests get a clean 400 (431 for oversize
 * headers) from `clientError`; nothing a client sends can throw out of this module.
 */
import http from 'node:http';
import net from 'node:net';
import { chmodSync, rmSync } from 'node:fs';
import { errorMessage } from '../util/errors.js';
import { sniffFirstBytes, SNIFF_MAX, type Sniffed } from './sniff.js';

/** What the gate answered for one connection (after any hold). */
export interface GateResult {
  decision: 'allow' | 'deny';
  ruleId: string;
  band: string;
  why: string;
  holdId?: number;
  holdBy?: string;
  heldMs?: number;
}

/** One finished connection, for the journal. Byte counts are payload bytes (tunnel data / message bodies). */
export interface ConnectionRecord extends GateResult {
  /** `CONNECT` or the plain-HTTP method. */
  method: string;
  host: string;
  port: number;
  /** 0 when the upstream connection was made; else an errno (EACCES for a refusal, ECONNREFUSED, …). */
  errno: number;
  bytesUp: number;
  bytesDown: number;
  startedAt: number;
  /** The connecting process, when the proxy knows it (steered connections); else the run's root process. */
  pid?: number;
}

export interface ProxyOptions {
  gate(host: string, port: number, method: string): Promise<GateResult>;
  /** The address to connect to for a host; throws when it does not resolve. */
  resolve(host: string): Promise<string>;
  record(r: ConnectionRecord): void;
  log(line: string): void;
  /**
   * Also serve connections warden-watch steered in (helper/linux/watch/egress.c, WIRE.md §5.2): `CONNECT ip:port`
   * with `X-Warden-Transparent: 1` is answered 200 at once; the client's first bytes then name the destination
   * (TLS SNI, HTTP Host: core/net/sniff.ts), which the gate decides with the original port, and the upstream
   * connection goes to that name — never to the original address behind an allowed name.
   */
  transparent?: boolean;
}

/** How long a steered connection's first bytes are waited for (server-speaks-first protocols send none). */
const SNIFF_WAIT_MS = 1_500;

/** One tunnel to set up: what the client asked for and what it was already told. */
interface Tunnel {
  method: string;
  host: string;
  port: number;
  /** Client bytes already read, to send upstream first. */
  head: Buffer;
  startedAt: number;
  pid?: number;
  /** The client already got its 200 (steered): refusals and failures can only close it (or, for HTTP, a 403). */
  answered: boolean;
  kind?: Sniffed['kind'];
}

/**
 * The client's first bytes, up to what sniffFirstBytes needs or SNIFF_MAX, within SNIFF_WAIT_MS. The socket is
 * left paused with nothing lost (the bytes are returned).
 */
function firstBytes(client: net.Socket, head: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    let buf = head;
    if (sniffFirstBytes(buf).complete) return resolve(buf);
    const done = () => {
      client.pause();
      client.off('data', onData);
      client.off('end', done);
      client.off('close', done);
      clearTimeout(timer);
      resolve(buf);
    };
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (sniffFirstBytes(buf).complete || buf.length >= SNIFF_MAX) done();
    };
    const timer = setTimeout(done, SNIFF_WAIT_MS);
    client.on('data', onData);
    client.once('end', done);
    client.once('close', done);
    client.resume();
  });
}

/** Largest request head accepted (bytes); more gets 431. */
export const MAX_HEADER_BYTES = 16 * 1024;

const ERRNO: Record<string, number> = {
  EACCES: 13,
  ECONNREFUSED: 111,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  EHOSTUNREACH: 113,
  ENETUNREACH: 101,
  ENOTFOUND: 2,
  EAI_AGAIN: 11,
};
const errnoOf = (err: unknown) => ERRNO[(err as NodeJS.ErrnoException)?.code ?? ''] ?? 5;

// RFC 9110 §7.6.1 hop-by-hop fields, plus the proxy's own.
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const HOST_RE = /^[a-z0-9_](?:[a-z0-9_.-]{0,252})$/i;

/** Parses a CONNECT target `host:port` / `[v6]:port`; null when malformed. */
export function parseAuthority(target: string): { host: string; port: number } | null {
  const m = /^\[([0-9a-f:.]+)\]:(\d{1,5})$/i.exec(target) ?? /^([^:[\]/\s]+):(\d{1,5})$/.exec(target);
  if (!m) return null;
  const host = (m[1] as string).toLowerCase().replace(/\.$/, '');
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  if (!net.isIPv6(host) && !HOST_RE.test(host)) return null;
  return { host, port };
}

function refusalBody(what: string, g: GateResult): string {
  const band = g.band ? ` (band ${g.band})` : '';
  return `Warden refused ${what}: rule ${g.ruleId}${band}: ${g.why}\n`;
}

function plainAnswer(status: number, reason: string, body: string, extra = ''): string {
  return (
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`
  );
}

export class EgressProxy {
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();
  /** Connections being served (tunnels and requests). */
  active = 0;
  /** Connections seen since start. */
  total = 0;

  constructor(private readonly o: ProxyOptions) {
    this.server = http.createServer({
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: 15_000,
      requestTimeout: 60_000,
    });
    this.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    // a bug here must not become an unhandled rejection, which would end the daemon
    const fault = (what: string) => (err: unknown) =>
      this.o.log(`daemon: net: ${what} failed: ${errorMessage(err)}`);
    this.server.on('connect', (req, socket, head) =>
      this.onConnect(req, socket as net.Socket, head).catch(fault('a CONNECT')),
    );
    this.server.on('request', (req, res) => this.onRequest(req, res).catch(fault('a request')));
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const code = err.code ?? '';
      const [status, reason] =
        code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large']
          : code === 'ERR_HTTP_REQUEST_TIMEOUT'
            ? [408, 'Request Timeout']
            : [400, 'Bad Request'];
      if (socket.writable && !(socket as net.Socket).destroyed) {
        socket.end(
          plainAnswer(status, reason, `Warden's egress proxy: ${reason.toLowerCase()} (${code}).\n`),
        );
        // Keep reading (and dropping) what the client still sends until it closes: closing a socket with unread
        // bytes resets the connection (af_unix sets ECONNRESET on the peer, TCP sends RST), and a client still
        // writing would then lose the answer. Bounded: the socket goes after 5 s whatever the client does.
        socket.on('data', () => {});
        socket.resume();
        setTimeout(() => socket.destroy(), 5_000).unref();
      } else socket.destroy();
    });
  }

  /** Listens on the unix socket `path` (replacing a stale one) and makes it 0600. */
  async listen(path: string): Promise<void> {
    rmSync(path, { force: true });
    await new Promise<void>((res, rej) => {
      this.server.once('error', rej);
      this.server.listen(path, () => {
        this.server.off('error', rej);
        res();
      });
    });
    chmodSync(path, 0o600);
  }

  /** Stops listening and cuts every connection. */
  async close(): Promise<void> {
    const done = new Promise<void>((res) => this.server.close(() => res()));
    for (const s of this.sockets) s.destroy();
    await done;
  }

  private async onConnect(req: http.IncomingMessage, client: net.Socket, head: Buffer): Promise<void> {
    this.total++;
    this.active++;
    const startedAt = Date.now();
    client.on('error', () => {});
    const target = parseAuthority(req.url ?? '');
    if (!target) {
      this.active--;
      client.end(plainAnswer(400, 'Bad Request', `Warden's egress proxy: bad CONNECT target ${JSON.stringify((req.url ?? '').slice(0, 300))}: want host:port.\n`)); // prettier-ignore
      return;
    }
    if (this.o.transparent && req.headers['x-warden-transparent'] === '1') {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      const first = await firstBytes(client, head);
      const sniffed = sniffFirstBytes(first);
      const pid = Number(req.headers['x-warden-pid']);
      return this.tunnel(client, {
        method: `steered-${sniffed.kind}`,
        host: sniffed.host ?? target.host,
        port: target.port,
        head: first,
        startedAt,
        pid: Number.isSafeInteger(pid) && pid > 0 ? pid : undefined,
        answered: true,
        kind: sniffed.kind,
      });
    }
    return this.tunnel(client, { method: 'CONNECT', ...target, head, startedAt, answered: false });
  }

  /** Gate, resolve, connect upstream and pipe both ways; records the connection when it ends. */
  private async tunnel(client: net.Socket, t: Tunnel): Promise<void> {
    const { host, port, head } = t;
    let bytesUp = head.length;
    let bytesDown = 0;
    let finished = false;
    const finish = (g: GateResult, errno: number) => {
      if (finished) return;
      finished = true;
      this.active--;
      this.o.record({ ...g, method: t.method, host, port, errno, bytesUp, bytesDown, startedAt: t.startedAt, pid: t.pid }); // prettier-ignore
    };
    // a client that was told 200 already can only be closed, except an HTTP client, which can read a 403
    const refuse = (status: number, reason: string, body: string, extra = '') => {
      if (client.destroyed) return;
      if (!t.answered || t.kind === 'http') client.end(plainAnswer(status, reason, body, extra));
      else client.destroy();
    };
    let g: GateResult;
    try {
      g = await this.o.gate(host, port, t.method);
    } catch (err) {
      g = { decision: 'deny', ruleId: 'builtin-proxy-error', band: 'builtin', why: errorMessage(err) };
    }
    if (g.decision === 'deny') {
      bytesUp = 0;
      const what = t.answered ? `a connection to ${host}:${port}` : `CONNECT ${host}:${port}`;
      refuse(403, 'Forbidden', refusalBody(what, g), `X-Warden-Rule: ${g.ruleId}\r\n`);
      return finish(g, ERRNO.EACCES as number);
    }
    if (client.destroyed) return finish(g, ERRNO.ECONNRESET as number);
    let address: string;
    try {
      address = await this.o.resolve(host);
    } catch (err) {
      refuse(502, 'Bad Gateway', `Warden's egress proxy: cannot resolve ${host}: ${errorMessage(err)}\n`);
      return finish(g, errnoOf(err));
    }
    const upstream = net.connect({ host: address, port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      if (!t.answered) client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      client.on('data', (d: Buffer) => (bytesUp += d.length));
      upstream.on('data', (d: Buffer) => (bytesDown += d.length));
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.on('error', (err) => {
      if (!connected) {
        refuse(502, 'Bad Gateway', `Warden's egress proxy: cannot connect to ${host}:${port}: ${errorMessage(err)}\n`); // prettier-ignore
        finish(g, errnoOf(err));
      } else client.destroy();
    });
    client.once('close', () => {
      upstream.destroy();
      if (connected) finish(g, 0);
    });
    upstream.once('close', () => {
      if (connected) client.end();
    });
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.total++;
    this.active++;
    const startedAt = Date.now();
    req.on('error', () => {});
    res.on('error', () => {});
    let url: URL | null = null;
    try {
      if (/^http:\/\//i.test(req.url ?? '')) url = new URL(req.url as string);
    } catch {
      url = null;
    }
    const bad = (status: number, text: string) => {
      this.active--;
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(text);
    }; // prettier-ignore
    if (!url || !url.hostname) {
      bad(400, `Warden's egress proxy serves CONNECT and absolute http:// URLs only; got ${JSON.stringify((req.url ?? '').slice(0, 300))}.\n`); // prettier-ignore
      return;
    }
    const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
    const port = url.port ? Number(url.port) : 80;
    if (!net.isIPv6(host) && !HOST_RE.test(host)) {
      bad(400, `Warden's egress proxy: bad host in ${JSON.stringify(url.host)}.\n`);
      return;
    }
    let bytesUp = 0;
    let bytesDown = 0;
    let finished = false;
    const finish = (g: GateResult, errno: number) => {
      if (finished) return;
      finished = true;
      this.active--;
      this.o.record({ ...g, method: req.method ?? 'GET', host, port, errno, bytesUp, bytesDown, startedAt });
    };
    let g: GateResult;
    try {
      g = await this.o.gate(host, port, req.method ?? 'GET');
    } catch (err) {
      g = { decision: 'deny', ruleId: 'builtin-proxy-error', band: 'builtin', why: errorMessage(err) };
    }
    if (g.decision === 'deny') {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'x-warden-rule': g.ruleId });
      res.end(refusalBody(`${req.method} http://${url.host}/`, g));
      req.resume();
      return finish(g, ERRNO.EACCES as number);
    }
    if (res.destroyed || req.destroyed) return finish(g, ERRNO.ECONNRESET as number);
    let address: string;
    try {
      address = await this.o.resolve(host);
    } catch (err) {
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`Warden's egress proxy: cannot resolve ${host}: ${errorMessage(err)}\n`);
      return finish(g, errnoOf(err));
    }
    const headers: http.OutgoingHttpHeaders = {};
    const connTokens = new Set(
      String(req.headers.connection ?? '')
        .toLowerCase()
        .split(',')
        .map((t) => t.trim()),
    );
    for (const [k, v] of Object.entries(req.headers))
      if (!HOP.has(k) && !connTokens.has(k) && v !== undefined) headers[k] = v;
    if (req.headers['transfer-encoding']) headers['transfer-encoding'] = req.headers['transfer-encoding'];
    const up = http.request({
      host: address,
      port,
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers,
      setHost: false,
    });
    req.on('data', (d: Buffer) => (bytesUp += d.length));
    up.on('response', (ur) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(ur.headers)) if (!HOP.has(k) && v !== undefined) out[k] = v;
      res.writeHead(ur.statusCode ?? 502, ur.statusMessage, out);
      ur.on('data', (d: Buffer) => (bytesDown += d.length));
      ur.pipe(res);
      ur.on('end', () => finish(g, 0));
      ur.on('error', () => {
        res.destroy();
        finish(g, 0);
      });
    });
    up.on('error', (err) => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`Warden's egress proxy: cannot reach ${host}:${port}: ${errorMessage(err)}\n`);
      } else res.destroy();
      finish(g, errnoOf(err));
    });
    res.on('close', () => {
      up.destroy();
      finish(g, bytesDown > 0 || res.writableFinished ? 0 : (ERRNO.ECONNRESET as number));
    });
    req.pipe(up);
  }
}
