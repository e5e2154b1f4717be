/**
 * Egress decisions without a run: the shipped band (policies/40-network.yaml), band order and ports, the
 * exfiltration check on hostnames, CONNECT target and hosts-file parsing, policy-check errors for a bad
 * `network:` section, and the `net.check` / `net.rules` API of a real daemon.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decideConnect, loadNetworkPolicy } from '../../core/net/rules.js';
import { exfilLabel, shannonBits } from '../../core/net/exfil.js';
import { parseAuthority } from '../../core/net/proxy.js';
import { parseHosts } from '../../core/net/resolve.js';
import { proxyEnv } from '../../core/net/env.js';
import { defaultPolicyDir, ensureStateDir } from '../../core/util/paths.js';
import { checkPolicyFiles } from '../../core/policy/index.js';
import { ensureDaemon } from '../../core/daemon/launch.js';
import { makeSandbox, destroySandbox, warden } from '../helpers/warden.js';

const shipped = loadNetworkPolicy([join(defaultPolicyDir, '40-network.yaml')]);

describe('the shipped network band', () => {
  const cases: [string, number, string, string][] = [
    ['api.anthropic.com', 443, 'allow', 'net-model-apis'],
    ['API.Anthropic.COM.', 443, 'allow', 'net-model-apis'],
    ['api.openai.com', 443, 'allow', 'net-model-apis'],
    ['generativelanguage.googleapis.com', 443, 'allow', 'net-model-apis'],
    ['us-central1-aiplatform.googleapis.com', 443, 'allow', 'net-model-apis'],
    ['registry.npmjs.org', 443, 'allow', 'net-package-registries'],
    ['files.pythonhosted.org', 443, 'allow', 'net-package-registries'],
    ['static.crates.io', 443, 'allow', 'net-package-registries'],
    ['github.com', 443, 'allow', 'net-git-hosting'],
    ['raw.githubusercontent.com', 443, 'allow', 'net-git-hosting'],
    ['gitlab.com', 443, 'allow', 'net-git-hosting'],
    // not on 443, or not listed: a person decides
    ['api.anthropic.com', 80, 'ask', 'net-ask-other'],
    ['github.com', 22, 'ask', 'net-ask-other'],
    ['githubusercontent.com.evil.example', 443, 'ask', 'net-ask-other'],
    ['evilgithub.com', 443, 'ask', 'net-ask-other'],
    ['paste.example', 443, 'ask', 'net-ask-other'],
    ['127.0.0.1', 8080, 'ask', 'net-ask-other'],
  ];
  for (const [host, port, decision, rule] of cases)
    test(`${host}:${port} → ${decision} (${rule})`, () => {
      const d = decideConnect(shipped, host, port);
      assert.deepEqual([d.decision, d.ruleId, d.band], [decision, rule, '40-network']);
    });

  test('ask carries the default timeout (5 min) and fallback (deny)', () => {
    const d = decideConnect(shipped, 'paste.example', 443);
    assert.deepEqual([d.timeoutMs, d.fallback], [300_000, 'deny']);
  });

  test('no network rules at all → deny no-rule', () => {
    const d = decideConnect({ rules: [], askTimeoutMs: 1 }, 'example.com', 443);
    assert.deepEqual([d.decision, d.ruleId], ['deny', 'no-rule']);
  });
});

describe('band order, ports and settings', () => {
  const sb = makeSandbox('net-rules');
  const early = join(sb.root, '05-mine.yaml');
  const late = join(sb.root, '95-late.yaml');
  writeFileSync(
    early,
    'network:\n  rules:\n    - id: mine-deny-npm\n      hosts: [registry.npmjs.org]\n      ports: [443]\n      decision: deny\n    - id: mine-ask-8443\n      hosts: ["*.example"]\n      ports: [8443]\n      decision: ask\n      timeout: 7s\n      fallback: allow\n',
  );
  writeFileSync(
    late,
    'settings:\n  ask_timeout: 9s\nnetwork:\n  rules:\n    - id: late-allow-all\n      hosts: ["*"]\n      decision: allow\n',
  );
  // files given in any order: bands decide
  const p = loadNetworkPolicy([late, join(defaultPolicyDir, '40-network.yaml'), early]);

  test('an earlier band wins over the shipped allow; a later band never sees what 40 decided', () => {
    assert.equal(decideConnect(p, 'registry.npmjs.org', 443).ruleId, 'mine-deny-npm');
    assert.equal(decideConnect(p, 'paste.example', 443).ruleId, 'net-ask-other');
  });

  test('ports narrow a rule; rule timeout/fallback beat the settings; settings apply otherwise', () => {
    const d = decideConnect(p, 'a.example', 8443);
    assert.deepEqual([d.ruleId, d.timeoutMs, d.fallback], ['mine-ask-8443', 7000, 'allow']);
    const o = decideConnect(p, 'a.example', 443);
    assert.deepEqual([o.ruleId, o.timeoutMs, o.fallback], ['net-ask-other', 9000, 'deny']);
  });

  test('a bad network section is a policy-check error with file:line:column', () => {
    const bad = join(sb.root, '06-bad.yaml');
    writeFileSync(bad, 'network:\n  rules:\n    - id: x\n      hosts: [a.example]\n      decision: maybe\n');
    const issues = checkPolicyFiles([bad]);
    assert.equal(issues.length, 1, JSON.stringify(issues));
    assert.equal(issues[0]!.line, 5);
    assert.match(issues[0]!.message, /decision/);
    writeFileSync(bad, 'network:\n  rules:\n    - id: x\n      host: [a.example]\n      decision: deny\n');
    assert.ok(checkPolicyFiles([bad]).some((i) => /unknown key "host"/.test(i.message) && i.line === 4));
  });

  test('the daemon serves net.check and net.rules', async () => {
    const client = await ensureDaemon(ensureStateDir(sb.state));
    try {
      const d = (await client.call('net.check', {
        host: 'registry.npmjs.org',
        port: 443,
        policies: [early],
      })) as {
        decision: string;
        ruleId: string;
      };
      assert.deepEqual([d.decision, d.ruleId], ['deny', 'mine-deny-npm']);
      const rules = (await client.call('net.rules', { policies: [] })) as { id: string; band: string }[];
      assert.deepEqual(
        rules.map((r) => r.id),
        ['net-model-apis', 'net-package-registries', 'net-git-hosting', 'net-ask-other'],
      );
      await assert.rejects(async () => client.call('net.check', { host: '', port: 0 }), /Too small/);
    } finally {
      client.close();
      destroySandbox(sb);
    }
  });
});

describe('exfiltration check on hostnames', () => {
  const fine = [
    'generativelanguage.googleapis.com',
    'my-very-long-company-subdomain-name.example.com',
    'thisisaverylongsubdomainnameforsure.example',
    'objects-githubusercontent.com',
    'ec2-54-12-33-1-compute-amazonaws.example',
    'productionloadbalancerinternal.example',
    'r2---sn-4g5e6nsz.googlevideo.com',
    '192.168.100.200',
  ];
  for (const h of fine) test(`${h} passes`, () => assert.equal(exfilLabel(h), null));
  const flagged: [string, RegExp][] = [
    ['4f2a9c8e1b7d3a6f5e0c9b8a7d6e5f4a.attacker.example', /hex/],
    ['mfrggzdfmztwq2lknnwg23tpobyxe43u.attacker.example', /digits/],
    ['kjhqwerpoiuzxcvmnbasdflkjpoiu.attacker.example', /entropy/],
  ];
  for (const [h, why] of flagged)
    test(`${h.split('.')[0]} is refused`, () => {
      const r = exfilLabel(h);
      assert.ok(r, 'not flagged');
      assert.match(r.reason, why);
      const d = decideConnect(shipped, h, 443);
      assert.deepEqual([d.decision, d.ruleId, d.band], ['deny', 'builtin-exfil-hostname', 'builtin']);
    });
  test('entropy figures', () => {
    assert.equal(shannonBits('aaaa'), 0);
    assert.equal(shannonBits('abcd'), 2);
  });
});

describe('parsing', () => {
  test('CONNECT targets', () => {
    assert.deepEqual(parseAuthority('Example.COM:443'), { host: 'example.com', port: 443 });
    assert.deepEqual(parseAuthority('[::1]:8080'), { host: '::1', port: 8080 });
    for (const bad of [
      'example.com',
      'example.com:0',
      'example.com:65536',
      ':443',
      'a b:1',
      'a/b:1',
      '[zz]:1',
      'x:1:2',
      '',
    ])
      assert.equal(parseAuthority(bad), null, bad);
  });
  test('hosts override file', () => {
    const m = parseHosts('# c\n127.0.0.1 a.test B.test\nnot-an-ip c.test\n::1 a.test d.test # again\n');
    assert.deepEqual(
      [...m],
      [
        ['a.test', '127.0.0.1'],
        ['b.test', '127.0.0.1'],
        ['d.test', '::1'],
      ],
    );
  });
  test('the proxy environment: both cases, npm, NO_PROXY for loopback', () => {
    const e = proxyEnv(3128);
    for (const k of [
      'HTTP_PROXY',
      'HTTPS_PROXY',
      'ALL_PROXY',
      'http_proxy',
      'https_proxy',
      'all_proxy',
      'npm_config_proxy',
      'npm_config_https_proxy',
    ])
      assert.equal(e[k], 'http://127.0.0.1:3128', k);
    assert.equal(e.no_proxy, 'localhost,127.0.0.1,::1');
    assert.equal(e.NO_PROXY, e.no_proxy);
  });
});

describe('warden net rules / warden net check', () => {
  const sb = makeSandbox('net-cli');
  after(() => destroySandbox(sb));

  test('check names the decision, rule and band; --json; bad input exits 2', () => {
    const a = warden(sb, ['net', 'check', 'registry.npmjs.org']);
    assert.equal(a.status, 0, a.stderr);
    assert.match(
      a.stdout,
      /^allow registry\.npmjs\.org:443: rule net-package-registries \(band 40-network\): /,
    );
    const j = warden(sb, ['net', 'check', 'paste.example:80', '--json']);
    assert.deepEqual(
      (({ decision, ruleId }) => ({ decision, ruleId }))(
        JSON.parse(j.stdout) as { decision: string; ruleId: string },
      ),
      { decision: 'ask', ruleId: 'net-ask-other' },
    );
    const e = warden(sb, ['net', 'check', `${'ab12'.repeat(8)}.example`]);
    assert.match(e.stdout, /^deny .*rule builtin-exfil-hostname \(band builtin\)/);
    const bad = warden(sb, ['net', 'check', 'example.com:99999']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /want HOST, HOST:PORT or \[IPv6\]:PORT/);
  });

  test('rules lists the network rules in evaluation order', () => {
    const r = warden(sb, ['net', 'rules']);
    assert.equal(r.status, 0, r.stderr);
    const ids = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[1]);
    assert.deepEqual(ids, ['net-model-apis', 'net-package-registries', 'net-git-hosting', 'net-ask-other']);
    assert.match(
      warden(sb, ['net', 'check', '--help']).stdout,
      /Usage: warden net check \[options\] <destination>/,
    );
  });
});
