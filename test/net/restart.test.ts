/**
 * A daemon restart in the middle of an isolated run: the new daemon serves the run's egress proxy again on
 * the same socket (the forwarder inside warden-netns reconnects per connection), and the connect events of
 * both daemons are journaled with distinct seqs.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSandbox, destroySandbox, runLog, wardenAsync, type Sandbox } from '../helpers/warden.js';
import { ensureDaemon } from '../../core/daemon/launch.js';
import { ensureStateDir } from '../../core/util/paths.js';
import { netnsProblem } from '../../core/net/netns.js';
import { startOrigin, writeHostOverrides, type TestServer } from './servers.js';

const problem = netnsProblem();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (ok()) return;
  assert.fail(`timed out waiting for ${what}`);
}

describe('daemon restart during an isolated run', { skip: problem ?? false }, () => {
  let sb: Sandbox;
  let origin: TestServer;
  before(async () => {
    sb = makeSandbox('net-restart');
    origin = await startOrigin();
    writeHostOverrides(sb.state, ['allowed.test']);
  });
  after(async () => {
    await origin?.close();
    if (sb) destroySandbox(sb);
  });

  test('the new daemon serves the run’s proxy again', async () => {
    const policy = join(sb.root, '05-restart.yaml');
    writeFileSync(
      policy,
      'network:\n  rules:\n    - id: r-allow\n      hosts: [allowed.test]\n      decision: allow\n',
    );
    const script = [
      'import urllib.request, os, time',
      `get = lambda p: urllib.request.urlopen('http://allowed.test:${origin.port}/' + p, timeout=20).read().decode()`,
      "t = get('first')",
      "open('first.txt', 'w').write(t)",
      "while not os.path.exists('go'): time.sleep(0.05)",
      'for i in range(200):',
      '    try:',
      "        open('second.txt', 'w').write(get('second')); break",
      '    except Exception as e:',
      '        err = e; time.sleep(0.1)',
    ].join('\n');
    const run = wardenAsync(sb, ['run', '--net', 'isolated', '--workspace', sb.ws, '--policy', policy, '--', 'python3', '-c', script]); // prettier-ignore
    await waitFor('the first request', () => existsSync(join(sb.ws, 'first.txt')) && readFileSync(join(sb.ws, 'first.txt'), 'utf8').length > 0); // prettier-ignore
    const pidFile = join(sb.state, 'daemon.pid');
    const first = Number(readFileSync(pidFile, 'utf8'));
    process.kill(first, 'SIGKILL');
    await waitFor('the old daemon to die', () => {
      try {
        process.kill(first, 0);
        return false;
      } catch {
        return true;
      }
    });
    (await ensureDaemon(ensureStateDir(sb.state))).close();
    assert.notEqual(Number(readFileSync(pidFile, 'utf8')), first);
    await waitFor('the proxy socket', () => existsSync(join(sb.state, 'net', '1.sock')));
    writeFileSync(join(sb.ws, 'go'), '');
    const r = await run;
    assert.equal(r.code, 0, r.output);
    assert.equal(
      readFileSync(join(sb.ws, 'first.txt'), 'utf8'),
      `hello from allowed.test:${origin.port} /first\n`,
    );
    assert.equal(
      readFileSync(join(sb.ws, 'second.txt'), 'utf8'),
      `hello from allowed.test:${origin.port} /second\n`,
    );
    const connects = runLog(sb).events.filter((e) => e.op === 'connect');
    assert.equal(connects.length, 2, JSON.stringify(connects));
    assert.equal(new Set(connects.map((e) => e.seq)).size, 2);
    assert.ok(!existsSync(join(sb.state, 'net', '1.sock')), 'the socket is removed at the end of the run');
    assert.ok(!existsSync(join(sb.state, 'net', '1.json')));
  });
});

if (problem) test('daemon restart', (t) => t.skip(`no network namespace can be made here: ${problem}`));
