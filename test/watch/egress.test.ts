/**
 * Watch mode egress steering (issue 7), as root: a stand-in agent (a copy of bash named `claude`, started
 * without `warden run`) connects straight to a test host — no proxy settings anywhere — and its connections
 * are steered by cgroup/connect4 into the user's egress proxy, which applies the network rules on the name the
 * client's first bytes carry (TLS SNI, HTTP Host) and journals one `connect` event per connection on the watched
 * run. The test host lives in a network namespace this test makes (test/watch/testhost.ts): nothing leaves
 * the machine. A plain (non-agent) process and loopback connections are not steered.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runLog, warden } from '../helpers/warden.js';
import { writeHostOverrides } from '../net/servers.js';
import { startTestHost, testHostSkipReason, TEST_HOST, TEST_HOST6, type TestHost } from './testhost.js';
import { destroyWatchSandbox, makeWatchSandbox, until, watchSkipReason, type WatchSandbox } from './env.js';

const skip = watchSkipReason() ?? testHostSkipReason();

interface RunRow {
  id: number;
  argv: string[];
  status: string;
}

const POLICY = `band: 05-egresstest
description: The test host of the watch-mode egress tests.
network:
  rules:
    - id: t-allow
      hosts: [allowed.test, '${TEST_HOST}']
      decision: allow
    - id: t-deny
      why: A test host that must stay unreachable for agents.
      hosts: [denied.test]
      decision: deny
`;

describe('watch mode: agent egress is steered into the egress proxy', { skip: skip ?? false }, () => {
  let sb: WatchSandbox;
  let host: TestHost | null = null;
  let loopback: Server;
  let loopbackPort = 0;
  let out = '';
  let agentPid = 0;
  let events: Record<string, unknown>[] = [];

  before(async () => {
    host = await startTestHost();
    loopback = createServer((_q, r) => r.end('loopback server\n'));
    await new Promise<void>((res) => loopback.listen(0, '127.0.0.1', res));
    loopbackPort = (loopback.address() as AddressInfo).port;

    sb = await makeWatchSandbox('egress');
    mkdirSync(join(sb.state, 'policies'), { recursive: true });
    writeFileSync(join(sb.state, 'policies', '05-egresstest.yaml'), POLICY);
    writeHostOverrides(sb.state, ['allowed.test', 'denied.test'], TEST_HOST);

    const script = [
      `curl -sS -m 20 --resolve allowed.test:8080:${TEST_HOST} http://allowed.test:8080/ok`,
      `curl -sS -m 20 -i --resolve denied.test:8080:${TEST_HOST} http://denied.test:8080/no | tr -d '\\r' | grep -E '^(HTTP|X-Warden-Rule|Warden)'`,
      `curl -sS -m 20 -k --resolve allowed.test:8443:${TEST_HOST} https://allowed.test:8443/tls`,
      `curl -sS -m 20 -k --resolve denied.test:8443:${TEST_HOST} https://denied.test:8443/tls || echo TLS-DENIED-$?`,
      `curl -sS -m 20 -g --resolve 'allowed.test:8080:[${TEST_HOST6}]' http://allowed.test:8080/v6`,
      // server speaks first: no client bytes name a host, so the address and port decide
      `exec 3<>/dev/tcp/${TEST_HOST}/2525 && head -1 <&3 | tr -d '\\r'; exec 3<&-`,
      `curl -sS -m 20 http://127.0.0.1:${loopbackPort}/`,
      'echo AGENT-DONE',
    ].join('; ');
    // asynchronously: the loopback server above runs in this process
    const agent = spawn('claude', ['-c', script], {
      cwd: sb.ws,
      env: sb.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (d) => (out += d));
    agent.stderr!.on('data', (d) => (out += d));
    agentPid = agent.pid ?? 0;
    await new Promise((res) => agent.on('close', res));
    await until(
      'the run to end with its connect events',
      () => {
        // this agent's run (other `claude` processes on the machine are agents too)
        const all = JSON.parse(warden(sb, ['runs', '--json', '--limit', '1000']).stdout) as RunRow[];
        const mine = all.find((r) => r.argv.some((a) => a.includes('AGENT-DONE')));
        if (!mine || mine.status === 'running') return false;
        events = runLog(sb, String(mine.id)).events.filter((e) => e.op === 'connect');
        return events.length >= 6;
      },
      30_000,
    ).catch(() => {});
  });

  after(async () => {
    if (sb) await destroyWatchSandbox(sb);
    host?.close();
    loopback?.close();
  });

  it('status says egress steering is active', () => {
    const s = JSON.parse(warden(sb, ['watch', 'status', '--json']).stdout);
    assert.match(s.mechanisms.connect4, /^active/, JSON.stringify(s.mechanisms));
  });

  it('an allowed host is reached through the proxy; the agent never set a proxy', () => {
    assert.match(out, /test host: allowed\.test:8080 \/ok/, `${out}\n${sb.helperLog()}`);
    assert.match(out, /AGENT-DONE/);
  });

  it("a denied host gets the proxy's 403 naming the rule, and the test host never sees the request", () => {
    assert.match(out, /HTTP\/1\.1 403 Forbidden/, out);
    assert.match(out, /X-Warden-Rule: t-deny/, out);
    assert.doesNotMatch(out, /test host: denied\.test/, out);
  });

  it('HTTPS is decided on the TLS server name (SNI): allowed passes end to end, denied is closed', () => {
    assert.match(out, /tls test host: allowed\.test:8443 \/tls/, out);
    assert.match(out, /TLS-DENIED-\d+/, out);
    assert.doesNotMatch(out, /tls test host: denied/, out);
    const tlsOk = events.find((e) => e.path === 'allowed.test:8443');
    assert.equal(tlsOk?.sys, 'steered-tls', JSON.stringify(events));
    assert.equal(tlsOk?.decision, 'allow');
    const tlsNo = events.find((e) => e.path === 'denied.test:8443');
    assert.equal(tlsNo?.decision, 'deny', JSON.stringify(events));
  });

  it('IPv6 connections are steered too (cgroup/connect6), and go to the name, not the dialled address', () => {
    // dialled [2001:db8:77::2]:8080; the proxy connected to allowed.test, which <state>/net/hosts maps to the
    // IPv4 address: the IPv4 server answered, so the connection went through the proxy
    assert.match(out, /test host: allowed\.test:8080 \/v6/, out);
    assert.doesNotMatch(out, /test host \(IPv6\)/, out);
    assert.equal(events.filter((e) => e.path === 'allowed.test:8080').length, 2, JSON.stringify(events));
  });

  it('a server-speaks-first connection is decided by address and port and relayed both ways', () => {
    assert.match(out, /220 test host banner/, out);
  });

  it('loopback is not steered', () => {
    assert.match(out, /loopback server/, out);
    assert.equal(events.filter((e) => String(e.path).startsWith('127.0.0.1')).length, 0);
  });

  it('each steered connection is a connect event of the watched run: name, decision, rule, bytes, the process', () => {
    const by = (p: string) => events.find((e) => e.path === p);
    const ok = by('allowed.test:8080');
    assert.ok(ok, JSON.stringify(events));
    assert.equal(ok.decision, 'allow');
    assert.equal(ok.ruleId, 't-allow');
    assert.equal(ok.sys, 'steered-http');
    assert.ok(Number(ok.bytesDown) > 0, JSON.stringify(ok));
    const no = by('denied.test:8080');
    assert.ok(no, JSON.stringify(events));
    assert.equal(no.decision, 'deny');
    assert.equal(no.ruleId, 't-deny');
    const banner = by(`${TEST_HOST}:2525`);
    assert.ok(banner, JSON.stringify(events));
    assert.equal(banner.decision, 'allow');
    assert.equal(banner.sys, 'steered-other');
    // the connecting process (curl), not the tree's root (the stand-in agent)
    assert.equal(typeof ok.pid, 'number');
    assert.ok(agentPid > 0);
    assert.notEqual(ok.pid, agentPid);
  });

  it('a plain (non-agent) process goes out directly: the denied host answers it', () => {
    const r = spawnSync('curl', ['-sS', '-m', '10', '--resolve', `denied.test:8080:${TEST_HOST}`, 'http://denied.test:8080/plain'], { encoding: 'utf8', env: sb.env }); // prettier-ignore
    assert.match(r.stdout, /test host: denied\.test:8080 \/plain/, r.stderr);
  });
});
