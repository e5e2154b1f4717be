/**
 * A test host for watch-mode egress (test/watch/egress.test.ts, bench/watch-egress.mjs): a network namespace
 * made here with a veth pair, the host side at 198.18.77.1/30 and the test host at 198.18.77.2 (RFC 2544
 * benchmark addresses; IPv6 2001:db8:77::1 and ::2), serving HTTP on 8080 (both families) (answers with the Host and path it was asked for; `/big?n=N`
 * streams N bytes), HTTPS on 8443 with a throwaway self-signed certificate, and a server-speaks-first banner on
 * 2525. Nothing leaves the machine; `close()` removes the namespace and the veth pair.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TEST_HOST = '198.18.77.2';
const HOST_SIDE = '198.18.77.1';
/** The test host's IPv6 address (2001:db8::/32, the documentation prefix). */
export const TEST_HOST6 = '2001:db8:77::2';
const HOST_SIDE6 = '2001:db8:77::1';

export interface TestHost {
  address: string;
  close(): void;
}

/** Why a test host cannot be made here (no ip(8), no network namespaces), or null. */
export function testHostSkipReason(): string | null {
  const probe = `wprobe${process.pid % 100000}`;
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.error) return `no ip(8): ${r.error.message}`;
  if (r.status !== 0) return `cannot make a network namespace for the test host: ${r.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return null;
}

const SERVER = `
const http = require('node:http'), https = require('node:https'), net = require('node:net'), fs = require('node:fs');
const dir = process.argv[1], chunk = Buffer.alloc(65536, 'x');
const answer = (tag) => (req, res) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname !== '/big') return res.end(tag + req.headers.host + ' ' + req.url + '\\n');
  let left = Number(u.searchParams.get('n'));
  const more = () => { while (left > 0) { const n = Math.min(left, chunk.length); left -= n; if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return res.once('drain', more); } res.end(); };
  more();
};
https.createServer({ key: fs.readFileSync(dir + '/key.pem'), cert: fs.readFileSync(dir + '/cert.pem') }, answer('tls test host: ')).listen(8443, '${TEST_HOST}');
http.createServer(answer('test host: ')).listen(8080, '${TEST_HOST}');
http.createServer(answer('test host (IPv6): ')).listen(8080, '${TEST_HOST6}');
net.createServer((s) => s.end('220 test host banner\\r\\n')).listen(2525, '${TEST_HOST}', () => console.log('ready'));
`;

const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
};

/**
 * Makes the namespace, the veth pair and the servers, and waits until they listen (10 s at most).
 * @throws Error naming the ip(8) or openssl step that failed.
 */
export async function startTestHost(): Promise<TestHost> {
  const tag = String(process.pid % 100000);
  const ns = `wegress${tag}`;
  const veth = `weg${tag}`;
  const certDir = mkdtempSync(join(tmpdir(), 'warden-testhost-'));
  let server: ChildProcess | null = null;
  const close = () => {
    server?.kill('SIGKILL');
    spawnSync('ip', ['link', 'del', `${veth}h`]);
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(certDir, { recursive: true, force: true });
  };
  try {
    const cert = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=allowed.test', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { encoding: 'utf8' }); // prettier-ignore
    if (cert.status !== 0) throw new Error(`openssl req: ${cert.stderr || cert.error?.message}`);
    ip('netns', 'add', ns);
    ip('link', 'add', `${veth}h`, 'type', 'veth', 'peer', 'name', `${veth}n`);
    ip('link', 'set', `${veth}n`, 'netns', ns);
    ip('addr', 'add', `${HOST_SIDE}/30`, 'dev', `${veth}h`);
    ip('-6', 'addr', 'add', `${HOST_SIDE6}/64`, 'dev', `${veth}h`, 'nodad');
    ip('link', 'set', `${veth}h`, 'up');
    ip('-n', ns, 'addr', 'add', `${TEST_HOST}/30`, 'dev', `${veth}n`);
    ip('-n', ns, '-6', 'addr', 'add', `${TEST_HOST6}/64`, 'dev', `${veth}n`, 'nodad');
    ip('-n', ns, 'link', 'set', `${veth}n`, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, certDir], { stdio: ['ignore', 'pipe', 'inherit'] }); // prettier-ignore
    let out = '';
    server.stdout!.on('data', (d) => (out += d));
    const end = Date.now() + 10_000;
    while (!out.includes('ready')) {
      if (Date.now() > end || server.exitCode !== null)
        throw new Error(`the test host did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    close();
    throw err;
  }
  return { address: TEST_HOST, close };
}
