/**
 * A real agent under Warden: Claude Code (the native binary from npm, installed by
 * `npm ci --prefix test/agents`), driven by a scripted local stand-in of the Anthropic API
 * (test/agents/fake-anthropic.ts). The script makes Claude Code's own Bash tool delete and overwrite project
 * files, then try to write outside the workspace; Warden must journal the first with pre-images, deny the
 * second, never block Claude Code's own state writes, and roll the workspace back byte for byte.
 *
 * The fake API runs in this process, so warden is spawned asynchronously (the harness' spawnSync would
 * block the event loop the server needs).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  makeSandbox,
  destroySandbox,
  runLog,
  warden,
  wardenBin,
  repoRoot,
  type Sandbox,
  startApprover,
} from '../helpers/warden.js';
import { hashTree, diffTrees } from '../helpers/tree.js';
import { randomTree, randomBytes, sh } from './fixtures.js';
import { startFakeAnthropic, type FakeAnthropic } from '../agents/fake-anthropic.js';
import { writeHostOverrides } from '../net/servers.js';

const agentsDir = join(repoRoot, 'test', 'agents', 'node_modules', '@anthropic-ai');

/**
 * The claude binary: the package's bin/claude.exe once its postinstall has copied the native binary over the
 * placeholder, else the per-platform package's binary itself (e.g. when install scripts were skipped).
 */
function claudeBinary(): string | undefined {
  const wrapper = join(agentsDir, 'claude-code', 'bin', 'claude.exe');
  if (existsSync(wrapper) && statSync(wrapper).size > 1024 * 1024) return wrapper;
  const native = join(agentsDir, `claude-code-linux-${process.arch}`, 'claude');
  return existsSync(native) ? native : undefined;
}

interface AsyncResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `node bin/warden.js ARGS…` without blocking the event loop; kills its process group after timeoutMs. */
function wardenAsync(
  sb: Sandbox,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<AsyncResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wardenBin, ...args], {
      cwd: sb.ws,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout can end the whole tree
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, timedOut });
    });
  });
}

describe('a real Claude Code session under warden', () => {
  let sb: Sandbox;
  let fake: FakeAnthropic | undefined;
  /** What the first test observed about Claude Code's own state, for the second. */
  let session: { homeMkdirDenials: string[]; claudeJsonWritten: boolean } | undefined;
  before(() => (sb = makeSandbox('real-agent')));
  after(async () => {
    await fake?.close();
    destroySandbox(sb);
  });

  test(
    'its Bash tool deletes and overwrites files: journaled, outside writes denied, rolled back',
    { timeout: 300_000 },
    async (t) => {
      const claude = claudeBinary();
      if (!claude) {
        t.skip('Claude Code is not installed: run npm ci --prefix test/agents');
        return;
      }

      // The project: a git repo with a src/ tree of random content and a README.
      randomTree(join(sb.ws, 'src'), 41, 3, 3, 3000);
      writeFileSync(join(sb.ws, 'README.md'), '# proj\n\nA small project.\n');
      writeFileSync(join(sb.ws, 'package.json'), '{ "name": "proj", "version": "1.0.0" }\n');
      sh(sb.ws, ['git', 'init', '-q', '-b', 'main'], sb.env);
      sh(sb.ws, ['git', 'add', '-A'], sb.env);
      sh(sb.ws, ['git', 'commit', '-qm', 'initial'], sb.env);
      // Outside the workspace: a shell start-up file and another project the agent has no business touching.
      const bashrc = join(sb.home, '.bashrc');
      writeFileSync(bashrc, '# my shell\nexport EDITOR=vi\n');
      const other = join(sb.home, 'other-project');
      mkdirSync(other);
      writeFileSync(join(other, 'notes.txt'), randomBytes(5, 700));
      const srcFiles = [...hashTree(join(sb.ws, 'src'))]
        .filter(([, v]) => v.startsWith('file '))
        .map(([k]) => k);
      const before = hashTree(sb.ws);
      const bashrcBefore = readFileSync(bashrc);
      const otherBefore = hashTree(other);

      fake = await startFakeAnthropic([
        {
          tool: 'Bash',
          input: { command: 'rm -rf src && echo gone > README.md && echo step1-ok', description: 'Clean up' },
        },
        {
          tool: 'Bash',
          input: {
            command:
              'echo pwned >> ~/.bashrc || echo bashrc-refused; rm -rf ~/other-project || echo rm-refused',
            description: 'Clean up more',
          },
        },
        { text: 'The project is cleaned up.' },
      ]);

      // The run is network-isolated (`--net isolated` is the default): the fake API on the host's loopback is
      // reached through Warden's egress proxy, under a test hostname only the daemon resolves
      // (<state>/net/hosts), allowed by a test network rule.
      writeHostOverrides(sb.state, ['api.anthropic.test']);
      const netPolicy = join(sb.root, '05-fake-api.yaml');
      writeFileSync(
        netPolicy,
        'network:\n  rules:\n    - id: fake-anthropic-api\n      hosts: [api.anthropic.test]\n      decision: allow\n',
      );
      const env: NodeJS.ProcessEnv = {
        ...sb.env,
        SHELL: '/bin/bash',
        ANTHROPIC_BASE_URL: fake.url.replace('127.0.0.1', 'api.anthropic.test'),
        ANTHROPIC_API_KEY: 'test-key',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        DISABLE_ERROR_REPORTING: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        // Claude Code refuses --dangerously-skip-permissions as root unless told it runs in a sandbox (CI
        // containers run as root); harmless otherwise.
        IS_SANDBOX: '1',
      };
      const started = Date.now();
      // A person at the desktop allows what Warden holds (the delete delay and, for this many files, the
      // bulk-delete gate), so the session runs as it would with someone watching.
      const approver = await startApprover(sb);
      const r = await wardenAsync(
        sb,
        [
          'run',
          '--workspace',
          sb.ws,
          '--policy',
          netPolicy,
          '--',
          claude,
          '-p',
          'clean up the project',
          '--dangerously-skip-permissions',
          '--output-format',
          'json',
        ],
        env,
        180_000,
      ).finally(() => approver.stop());
      t.diagnostic(`claude under warden took ${Date.now() - started} ms`);
      assert.ok(
        approver.holds.some((h) => h.op === 'delete'),
        "the agent's rm of pre-existing files was held before it went through",
      );
      const context = `\nwarden stderr:\n${r.stderr}\nclaude stdout:\n${r.stdout}\nAPI requests:\n${fake.describe()}`;
      assert.equal(r.timedOut, false, `warden run timed out${context}`);
      assert.equal(r.status, 0, `claude exited ${r.status}${context}`);
      t.diagnostic(`API requests:\n${fake.describe()}`);
      let result: { is_error?: boolean; result?: string } = {};
      assert.doesNotThrow(
        () => (result = JSON.parse(r.stdout) as typeof result),
        `claude printed no JSON${context}`,
      );
      assert.equal(result.is_error, false, context);
      assert.equal(result.result, 'The project is cleaned up.', context);

      // The fake API saw both tool results: the tools really ran (and the second one was refused).
      const last = fake.requests.find((q) => q.tools && q.toolResults === 2);
      assert.ok(last, `no request carried both tool results${context}`);
      const [res1, res2] = last.toolResultTexts!;
      assert.match(res1!.text, /step1-ok/, context);
      assert.match(res2!.text, /bashrc-refused/, context);
      assert.match(res2!.text, /rm-refused/, context);

      // On disk: src/ is gone, the README overwritten; outside the workspace nothing changed.
      assert.equal(existsSync(join(sb.ws, 'src')), false);
      assert.equal(readFileSync(join(sb.ws, 'README.md'), 'utf8'), 'gone\n');
      assert.deepEqual(readFileSync(bashrc), bashrcBefore, '~/.bashrc was changed');
      assert.deepEqual(diffTrees(otherBefore, hashTree(other)), [], '~/other-project was changed');

      const log = runLog(sb);
      const events = log.events as {
        op: string;
        path: string;
        decision: string;
        ruleId: string;
        sys: string;
        pid: number;
        pre: unknown;
      }[];
      // Its API traffic went through the egress proxy: journaled connect events, allowed by the test rule.
      const api = events.filter((e) => e.op === 'connect' && e.path.startsWith('api.anthropic.test:'));
      assert.ok(
        api.length > 0,
        'no connect event for the fake API: its traffic did not go through the proxy',
      );
      for (const e of api) assert.deepEqual([e.decision, e.ruleId], ['allow', 'fake-anthropic-api']);
      const chains = (log as unknown as { chains: Record<string, { pid: number; argv: string[] | null }[]> })
        .chains;
      const isClaude = (argv: string[] | null): boolean =>
        !!argv?.[0] && /^claude(\.exe)?$/.test(basename(argv[0]));
      const summary = (e: (typeof events)[number]): string => `${e.op} ${e.sys} ${e.path} [${e.ruleId}]`;

      // Every src file's delete is journaled with a pre-image, by a process descending from claude.
      for (const f of srcFiles) {
        const p = join(sb.ws, 'src', f);
        const del = events.find((e) => e.op === 'delete' && e.path === p && e.decision === 'allow');
        assert.ok(del, `no allowed delete journaled for ${p}`);
        assert.ok(del.pre, `the delete of ${p} has no pre-image`);
        const chain = chains[String(del.pid)] ?? [];
        assert.ok(
          chain.some((c) => isClaude(c.argv)),
          `the delete of ${p} is not attributed to claude: ${JSON.stringify(chain)}`,
        );
      }
      const readme = join(sb.ws, 'README.md');
      assert.ok(
        events.some((e) => e.path === readme && e.decision === 'allow' && e.pre),
        'the README overwrite has no pre-image',
      );

      // The outside writes were denied and journaled.
      const denied = events.filter((e) => e.decision === 'deny');
      assert.ok(
        denied.some((e) => e.path === bashrc && e.ruleId === 'protect-shell-config'),
        `no deny of ~/.bashrc: ${denied.map(summary).join('; ')}`,
      );
      assert.ok(
        denied.some((e) => e.path.startsWith(other + '/') && e.op === 'delete'),
        `no deny of a delete in ~/other-project: ${denied.map(summary).join('; ')}`,
      );
      // Claude Code's own state (~/.claude/…, ~/.claude.json, its backups and temp files) is never denied.
      const claudeState = denied.filter((e) => e.path.startsWith(join(sb.home, '.claude')));
      assert.deepEqual(claudeState.map(summary), [], "Claude Code's own state writes were denied");
      assert.ok(
        events.some((e) => e.decision === 'allow' && e.path.startsWith(join(sb.home, '.claude/'))),
        "Claude Code's own state writes were not seen at all: is HOME the sandbox's?",
      );
      // Every other deny is one of the two scripted attacks, except (known, see the todo test below) claude's
      // `mkdir(~)` before each write of ~/.claude.json: a no-op on an existing directory, which the kernel
      // answers EEXIST but the supervisor denies with EACCES — and Claude Code then gives up saving its config.
      const homeMkdir = (e: (typeof events)[number]): boolean => e.op === 'mkdir' && e.path === sb.home;
      const unexpected = denied.filter(
        (e) => e.path !== bashrc && !e.path.startsWith(other + '/') && e.path !== other && !homeMkdir(e),
      );
      assert.deepEqual(unexpected.map(summary), [], 'denied writes the script did not ask for');
      session = {
        homeMkdirDenials: denied.filter(homeMkdir).map(summary),
        claudeJsonWritten: existsSync(join(sb.home, '.claude.json')),
      };

      // Rollback restores the workspace byte for byte, excluding nothing. Whatever Claude Code itself wrote in
      // the workspace (git's index refresh under .git/, any .claude/ it might create) is part of the run and
      // is undone with it: "undo this run" must leave the project exactly as it was before the agent started.
      const rb = warden(sb, ['rollback', '--run', String(log.run.id), '--yes']);
      assert.equal(rb.status, 0, `rollback failed: ${rb.stdout}${rb.stderr}`);
      assert.deepEqual(diffTrees(before, hashTree(sb.ws)), [], 'the workspace differs after rollback');
      assert.equal(
        sh(sb.ws, ['git', 'status', '--porcelain'], sb.env),
        '',
        'git sees changes after rollback',
      );
    },
  );

  // Known issue, kept visible: while the supervisor answers Claude Code's mkdir(~) with EACCES, this test
  // reports itself skipped with the evidence (the runner counts skips separately, never as passed); once the
  // helper answers EEXIST it runs its assertions, and any other denial of Claude Code's own state fails it.
  test('Claude Code persists its state file (~/.claude.json) under warden: nothing of its own is denied', (t) => {
    if (!claudeBinary()) {
      t.skip('Claude Code is not installed: run npm ci --prefix test/agents');
      return;
    }
    assert.ok(session, 'the session test did not get far enough to tell');
    if (session.homeMkdirDenials.length > 0 && !session.claudeJsonWritten) {
      t.skip(
        `KNOWN ISSUE: ${session.homeMkdirDenials.length}x ${session.homeMkdirDenials[0]} errno=EACCES (the ` +
          "kernel answers mkdir of an existing directory with EEXIST), so Claude Code's config save fails " +
          '("EACCES: permission denied, mkdir \'~\'") and ~/.claude.json is never written',
      );
      return;
    }
    assert.deepEqual(session.homeMkdirDenials, [], 'mkdir(~) was denied');
    assert.ok(session.claudeJsonWritten, '~/.claude.json was never written');
  });
});
