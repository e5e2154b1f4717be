/**
 * A normal coding session must never be blocked: git, a C compiler, npm scripts, python, and cleaning the
 * project's own build output, all under `warden run` with the default policy, with nothing denied.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeSandbox, destroySandbox, guarded, runLog, type Sandbox } from '../helpers/warden.js';

describe('a normal coding session runs unhindered', () => {
  let sb: Sandbox;
  before(() => (sb = makeSandbox('session')));
  after(() => destroySandbox(sb));

  test('git, cc, make, npm scripts, python and a clean of build output: exit 0, nothing denied', () => {
    writeFileSync(join(sb.ws, 'hello.c'), '#include <stdio.h>\nint main(void){puts("hello");return 0;}\n');
    writeFileSync(
      join(sb.ws, 'Makefile'),
      'build/hello: hello.c\n\tmkdir -p build\n\tcc -O1 -o build/hello hello.c\nclean:\n\trm -rf build\n',
    );
    writeFileSync(
      join(sb.ws, 'package.json'),
      JSON.stringify({
        name: 'demo',
        version: '1.0.0',
        scripts: { gen: "node -e \"require('fs').writeFileSync('gen.txt', 'ok')\"" },
      }),
    );
    writeFileSync(
      join(sb.ws, 'tool.py'),
      'import json, tempfile, os\nwith tempfile.NamedTemporaryFile("w", delete=False) as f: f.write("t")\nos.unlink(f.name)\njson.dump({"ok": True}, open("out.json", "w"))\n',
    );
    const script = [
      'set -e',
      'git init -q -b main',
      'git add -A && git commit -qm init',
      'make -s && ./build/hello',
      'npm run -s gen',
      'python3 tool.py',
      'echo change >> hello.c && git commit -qam change && git log --oneline | wc -l',
      'make -s clean',
      'git status --short',
    ].join('\n');
    const r = guarded(sb, ['sh', '-c', script], { timeoutMs: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(sb.ws, 'gen.txt')) && existsSync(join(sb.ws, 'out.json')));
    assert.equal(existsSync(join(sb.ws, 'build')), false);
    const denied = runLog(sb).events.filter((e) => e.decision === 'deny');
    assert.deepEqual(
      denied.map((e) => `${e.op} ${e.path}`),
      [],
      'nothing denied during a normal session',
    );
  });
});
