#!/usr/bin/env node
// `npm run demo`: Warden catches and undoes a real destructive command, with the default embedded daemon and
// state dir (no set-up). It builds a small project in a temp dir, runs
//   warden run -- sh -c 'rm -rf src; echo oops > README.md; echo x > ~/.warden-demo-outside'
// (the write outside the workspace is denied), shows the run's timeline, rolls the run back and
// checks every file is back byte for byte.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, lstatSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const warden = fileURLToPath(new URL('../bin/warden.js', import.meta.url));
const ws = mkdtempSync(join(tmpdir(), 'warden-demo-'));

function snapshot(dir) {
  const out = {};
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else
        out[relative(ws, p)] =
          `${(st.mode & 0o7777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

function step(title, args) {
  console.log(`\n$ warden ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [warden, ...args], { cwd: ws, stdio: 'inherit' });
  if (r.error) throw r.error;
  return r.status;
}

mkdirSync(join(ws, 'src', 'lib'), { recursive: true });
writeFileSync(join(ws, 'README.md'), '# demo project\n');
for (let i = 0; i < 20; i++) writeFileSync(join(ws, 'src', 'lib', `mod${i}.js`), `export const n = ${i};\n`);
writeFileSync(join(ws, 'src', 'main.js'), 'import "./lib/mod0.js";\n');
const before = snapshot(ws);
console.log(`Demo workspace ${ws}: ${Object.keys(before).length} files.`);

step('guarded run', [
  'run',
  '--',
  'sh',
  '-c',
  'rm -rf src; echo oops > README.md; echo x > ~/.warden-demo-outside; echo "agent: done"',
]);
const damaged = Object.keys(snapshot(ws)).length;
console.log(
  `\nAfter the run: ${damaged} file(s) left, README.md overwritten; nothing written outside the workspace.`,
);
step('timeline', ['log', '--run', 'last', '--limit', '12']);
step('rollback', ['rollback', '--run', 'last', '--yes']);

let leaked = false;
try {
  lstatSync(join(process.env.HOME ?? '/nonexistent', '.warden-demo-outside'));
  leaked = true;
} catch {
  /* good: the write outside the workspace was denied */
}
const after = snapshot(ws);
const same = JSON.stringify(after) === JSON.stringify(before);
console.log(
  same
    ? `\nRestored byte for byte: all ${Object.keys(before).length} files match.`
    : '\nMISMATCH after rollback',
);
rmSync(ws, { recursive: true, force: true });
if (leaked) console.log('UNEXPECTED: ~/.warden-demo-outside exists');
process.exit(same && !leaked ? 0 : 1);
