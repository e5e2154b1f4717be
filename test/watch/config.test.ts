/**
 * The helper's config compiled from the policy (no root needed): the shipped `agents:` selectors, a bad
 * selector named with its file, the rendered records, and `warden watch install --unit-dir`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { agentSelectors, renderWatchConfig } from '../../core/watch/config.js';
import { defaultPolicyDir, helperBinary } from '../../core/util/paths.js';
import { destroySandbox, makeSandbox, warden, type Sandbox } from '../helpers/warden.js';

describe('watch config', () => {
  let sb: Sandbox;
  before(() => {
    sb = makeSandbox('watch-config');
  });
  after(() => destroySandbox(sb));

  it('ships selectors for Claude Code, Codex, Gemini, Cursor agent and Aider', () => {
    const a = agentSelectors([join(defaultPolicyDir, '20-agents.yaml')]);
    assert.deepEqual(
      a.map((s) => s.id),
      ['claude-code', 'codex', 'gemini', 'cursor-agent', 'aider'],
    );
    assert.ok(a[0]!.argv!.includes('*/@anthropic-ai/claude-code/cli.js'));
  });

  it('a later band replaces a selector by id; a bad one names its file', () => {
    const f = join(sb.root, '50-mine.yaml');
    writeFileSync(f, 'agents:\n  - id: claude-code\n    exe: [my-claude]\n');
    const a = agentSelectors([join(defaultPolicyDir, '20-agents.yaml'), f]);
    assert.deepEqual(a.find((s) => s.id === 'claude-code')!.exe, ['my-claude']);
    writeFileSync(f, 'agents:\n  - id: Bad Id\n');
    assert.throws(
      () => agentSelectors([f]),
      (e: Error) => e.message.includes(f),
    );
  });

  it('renders TAB records and refuses a path with a TAB', () => {
    const base = {
      socket: '/run/warden/watch.sock',
      shadow: '/s',
      roots: ['/home/u'],
      deny: [],
      agents: [{ id: 'x', exe: ['claude'], argv: ['*/cli.js'] }],
      users: [{ uid: 1000, state: '/home/u/.local/state/warden' }],
      bulk: { count: 50, windowMs: 10_000 },
      askTimeoutMs: 300_000,
      bulkDeny: 'kill' as const,
      preimageMax: 1024,
    };
    const text = renderWatchConfig(base);
    assert.equal(text.split('\n')[0], 'warden-watch\t1');
    assert.ok(text.includes('agent\tx\texe\tclaude\n'));
    assert.ok(text.includes('agent\tx\targv\t*/cli.js\n'));
    assert.ok(text.includes('user\t1000\t/home/u/.local/state/warden\n'));
    assert.ok(text.includes('bulk\t50\t10000\n'));
    assert.ok(renderWatchConfig({ ...base, deny: ['/home/u/.ssh'] }).includes('deny\t/home/u/.ssh\n'));
    assert.throws(() => renderWatchConfig({ ...base, roots: ['/a\tb'] }), /TAB/);
  });

  it('the helper refuses a config with an unknown record, naming the line', (t) => {
    const bin = helperBinary('warden-watch');
    if (!existsSync(bin)) return t.skip(`${bin} is not built (needs clang, bpftool, libbpf-dev)`);
    const f = join(sb.root, 'bad.conf');
    writeFileSync(f, 'warden-watch\t1\nsocket\t/x.sock\nbogus\tvalue\n');
    const r = spawnSync(bin, ['--config', f], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.conf:3: bad or unknown record 'bogus'/);
  });

  it('watch install --unit-dir writes a unit and does not run systemctl', () => {
    const unitDir = join(sb.root, 'units');
    const r = warden(sb, [
      'watch',
      'install',
      '--unit-dir',
      unitDir,
      '--root',
      sb.home,
      '--deny',
      sb.outside,
      '--uid',
      '1000',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /not enabled/);
    const unit = readFileSync(join(unitDir, 'warden-watch.service'), 'utf8');
    assert.match(unit, /^ExecStart=".*node.*" ".*bin\/warden\.js" "watch" "--foreground" /m);
    assert.ok(unit.includes(`"--root" "${sb.home}"`));
    assert.ok(unit.includes('"--uid" "1000"'));
    assert.ok(unit.includes(`"--deny" "${sb.outside}"`));
    const bad = warden(sb, ['watch', 'install', '--unit-dir', unitDir, '--deny', join(sb.root, 'nope')]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /deny .*nope does not exist/);
    assert.match(unit, /Restart=always/);
  });

  it('watch --foreground without root says what to do', (t) => {
    if (process.getuid?.() === 0)
      return t.skip('running as root: the refusal for other users cannot be observed');
    const r = warden(sb, ['watch', '--foreground']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /needs root|not built/);
  });
});
