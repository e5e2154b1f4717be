/**
 * Test servers "outside" an isolated run: they listen on the host's 127.0.0.1 (which an isolated run cannot
 * reach directly), and the sandbox's proxy override file (`<state>/net/hosts`, read only by the daemon) maps
 * fake hostnames to them, so clients in the run reach them only through Warden's egress proxy.
 */
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  port: number;
  /** Request lines seen (`METHOD host path`), in order. */
  seen: string[];
  close(): Promise<void>;
}

function listen(server: http.Server): Promise<number> {
  return new Promise((res) =>
    server.listen(0, '127.0.0.1', () => res((server.address() as AddressInfo).port)),
  );
}

/**
 * An origin server: answers `hello from <Host> <path>` and, for a request body, `got N bytes`. `/big?n=N` answers
 * N bytes of 'x' (for byte counts).
 */
export async function startOrigin(): Promise<TestServer> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.host} ${req.url}`);
    let n = 0;
    req.on('data', (d: Buffer) => (n += d.length));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (u.pathname === '/big') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.alloc(Number(u.searchParams.get('n') ?? 0), 'x'));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(n > 0 ? `got ${n} bytes\n` : `hello from ${req.headers.host} ${u.pathname}\n`);
    });
  });
  const port = await listen(server);
  return { port, seen, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * A git smart-HTTP server: `git http-backend` (CGI, git-http-backend(1)) behind node:http, serving the bare
 * repositories under `root` (all exported).
 */
export async function startGitServer(root: string): Promise<TestServer> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.headers.host} ${req.url}`);
    const u = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(u.pathname),
        QUERY_STRING: u.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: root,
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headDone = false;
    cgi.stdout.on('data', (d: Buffer) => {
      if (headDone) return void res.write(d);
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
    cgi.on('error', () => res.destroy());
  });
  const port = await listen(server);
  return { port, seen, close: () => new Promise((r) => server.close(() => r())) };
}

/** A bare repository `<root>/<name>.git` with one commit holding `files`. */
export function makeBareRepo(root: string, name: string, files: Record<string, string>): string {
  const work = join(root, `${name}-work`);
  mkdirSync(work, { recursive: true });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(work, f), text);
  const env = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    HOME: root,
    GIT_AUTHOR_NAME: 'T',
    GIT_AUTHOR_EMAIL: 't@example.invalid',
    GIT_COMMITTER_NAME: 'T',
    GIT_COMMITTER_EMAIL: 't@example.invalid',
  };
  const git = (args: string[], cwd: string) => {
    const r = spawnSync('git', args, { cwd, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git(['init', '-q', '-b', 'main'], work);
  git(['add', '.'], work);
  git(['commit', '-q', '-m', 'first'], work);
  const bare = join(root, `${name}.git`);
  git(['clone', '-q', '--bare', work, bare], root);
  return bare;
}

/** Writes the daemon-only host override file of a state dir (`ADDRESS NAME…` lines). */
export function writeHostOverrides(state: string, names: string[], address = '127.0.0.1'): void {
  mkdirSync(join(state, 'net'), { recursive: true, mode: 0o700 });
  writeFileSync(join(state, 'net', 'hosts'), `# test servers\n${address} ${names.join(' ')}\n`);
}
