/**
 * Secret read → egress escalation (issue 6 item 6), as far as the journal shows it: after an exec whose argv
 * names a secret file (`cat ~/.ssh/…`, `base64 .env`), a connection that only a catch-all rule allows is held
 * as `builtin-secret-egress` with the secret named in the hold; hosts on an explicit allow rule still pass, and
 * a run that touched no secret is not held.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeSandbox, destroySandbox, wardenAsync, startApprover, type Sandbox } from '../helpers/warden.js';
import type { Hold } from '../../core/api/contract.js';
import { netnsProblem } from '../../core/net/netns.js';
import { startOrigin, writeHostOverrides, type TestServer } from './servers.js';

const problem = netnsProblem();

describe('secret read → egress escalation', { skip: problem ?? false }, () => {
  let sb: Sandbox;
  let origin: TestServer;
  let policy: string;
  let holds: Hold[] = [];
  let stop: () => void = () => {};

  before(async () => {
    sb = makeSandbox('net-secrets');
    origin = await startOrigin();
    writeHostOverrides(sb.state, ['anywhere.test', 'listed.test']);
    mkdirSync(join(sb.home, '.ssh'), { mode: 0o700 });
    writeFileSync(join(sb.home, '.ssh', 'id_test'), 'PRIVATE KEY\n', { mode: 0o600 });
    writeFileSync(join(sb.ws, '.env'), 'TOKEN=abc\n');
    policy = join(sb.root, '05-open.yaml');
    writeFileSync(
      policy,
      'network:\n  rules:\n    - id: listed\n      hosts: [listed.test]\n      decision: allow\n    - id: open-all\n      hosts: ["*"]\n      decision: allow\n',
    );
    // deny the secret holds of the first run, allow those of the third
    const approver = await startApprover(sb, (h) =>
      h.rule !== 'builtin-secret-egress' ? null : h.preview?.kind === 'command' && h.preview.lines.some((l) => l.includes('.env')) ? 'allow' : 'deny',
    ); // prettier-ignore
    holds = approver.holds;
    stop = approver.stop;
  });

  after(async () => {
    stop();
    await origin?.close();
    if (sb) destroySandbox(sb);
  });

  const run = (script: string) =>
    wardenAsync(sb, [
      'run',
      '--net',
      'isolated',
      '--workspace',
      sb.ws,
      '--policy',
      policy,
      '--',
      'sh',
      '-c',
      script,
    ]);
  const live = () => holds;

  test('after cat ~/.ssh/…, a catch-all allow is held and denied; an explicitly listed host still passes', async () => {
    const p = origin.port;
    const r = await run(
      `cat ~/.ssh/id_test > /dev/null; curl -sS -i -m 30 http://anywhere.test:${p}/x > held.txt; curl -sS -m 30 http://listed.test:${p}/y > listed.txt`,
    );
    assert.equal(r.code, 0, r.output);
    const held = readFileSync(join(sb.ws, 'held.txt'), 'utf8');
    assert.match(held, /^HTTP\/1\.1 403 Forbidden[\s\S]*rule builtin-secret-egress \(band builtin\)/);
    assert.equal(readFileSync(join(sb.ws, 'listed.txt'), 'utf8'), `hello from listed.test:${p} /y\n`);
    const h = live().find((x) => x.path === `anywhere.test:${p}`);
    assert.ok(h, JSON.stringify(live()));
    assert.equal(h.op, 'connect');
    assert.match(h.why ?? '', new RegExp(`secret ${join(sb.home, '.ssh', 'id_test')}`));
    assert.ok(
      h.preview?.kind === 'command' &&
        h.preview.lines.some((l) => l.includes(`cat ${join(sb.home, '.ssh', 'id_test')}`)),
      JSON.stringify(h.preview),
    );
    assert.ok(!origin.seen.some((l) => l.includes('anywhere.test')));
  });

  test('a run that touched no secret is not held', async () => {
    const before = live().length;
    const r = await run(`curl -sS -m 30 http://anywhere.test:${origin.port}/clean > clean.txt`);
    assert.equal(r.code, 0, r.output);
    assert.equal(
      readFileSync(join(sb.ws, 'clean.txt'), 'utf8'),
      `hello from anywhere.test:${origin.port} /clean\n`,
    );
    assert.equal(live().length, before);
  });

  test('a relative .env in an argv counts too; a person can still allow the connection', async () => {
    const r = await run(
      `base64 .env > /dev/null; curl -sS -m 30 http://anywhere.test:${origin.port}/env > env.txt`,
    );
    assert.equal(r.code, 0, r.output);
    assert.equal(
      readFileSync(join(sb.ws, 'env.txt'), 'utf8'),
      `hello from anywhere.test:${origin.port} /env\n`,
    );
    const h = live().at(-1)!;
    assert.equal(h.rule, 'builtin-secret-egress');
    assert.match(h.why ?? '', new RegExp(`${join(sb.ws, '.env')}`));
  });
});

if (problem) test('secret escalation', (t) => t.skip(`no network namespace can be made here: ${problem}`));
