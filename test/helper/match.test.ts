// warden-match: the helper's glob matcher and rule evaluation on hand-written tables (WIRE.md §1 semantics).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { match, missingHelper } from './env.js';

const skip = missingHelper();

/** Runs warden-match with a table of `rules` (TAB-joined lines) on `cases`; returns one "decision\trule" per case. */
function judge(rules: string[], cases: string[][]): string[] {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'warden-h-'));
  try {
    fs.writeFileSync(join(dir, 'table'), ['warden-table\t1', ...rules].join('\n') + '\n');
    const r = spawnSync(match, [join(dir, 'table')], {
      input: cases.map((c) => c.join('\t')).join('\n') + '\n',
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trimEnd().split('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One path rule `r` (allow write); returns for each path whether it matched. */
function matches(pattern: string, paths: string[]): boolean[] {
  return judge(
    [`rule\tr\tb\tallow\twrite\tpath\t${pattern}`],
    paths.map((p) => ['write', p]),
  ).map((l) => l === 'allow\tr');
}

test('** matches zero or more segments, only as a whole segment', { skip }, () => {
  assert.deepEqual(matches('/a/**/b', ['/a/b', '/a/x/b', '/a/x/y/b', '/a/xb', '/a/x/b/c']), [
    true,
    true,
    true,
    false,
    false,
  ]);
  assert.deepEqual(matches('/a/x**/b', ['/a/x/b', '/a/xyz/b', '/a/x/y/b']), [true, true, false]);
});

test(
  'dir/** matches the dir itself and everything beneath, not siblings with the same prefix',
  { skip },
  () => {
    assert.deepEqual(matches('/w/d/**', ['/w/d', '/w/d/a', '/w/d/a/b/c', '/w/dd', '/w']), [
      true,
      true,
      true,
      false,
      false,
    ]);
  },
);

test('*, ? and ** match dotfiles; * and ? never match /', { skip }, () => {
  assert.deepEqual(matches('/w/*', ['/w/.env', '/w/a', '/w/a/b']), [true, true, false]);
  assert.deepEqual(matches('/w/**', ['/w/.git/config']), [true]);
  assert.deepEqual(matches('/w/?x', ['/w/.x', '/w/ax', '/w//x']), [true, true, false]);
});

test('classes, negated classes, ranges, and an unterminated [ as a literal', { skip }, () => {
  assert.deepEqual(matches('/c/[a-c]x', ['/c/ax', '/c/cx', '/c/dx']), [true, true, false]);
  assert.deepEqual(matches('/c/[!0-9]', ['/c/a', '/c/5']), [true, false]);
  assert.deepEqual(matches('/c/[]]', ['/c/]']), [true]);
  assert.deepEqual(matches('/c/[ab', ['/c/[ab', '/c/a']), [true, false]);
});

test('a backslash escapes the next char', { skip }, () => {
  // the table escapes "\" as "\\", so the glob \* is written \\* in the file
  assert.deepEqual(matches('/e/\\\\*', ['/e/*', '/e/x']), [true, false]);
  assert.deepEqual(matches('/e/a\\\\?', ['/e/a?', '/e/ab']), [true, false]);
});

test('first match wins, no rule is deny/no-rule, hold decisions are reported as such', { skip }, () => {
  const out = judge(
    [
      'rule\tfirst\tb\tdeny\twrite\tpath\t/w/secret',
      'rule\tall\tb\tallow\twrite,create\tpath\t/w/**',
      'rule\task\tb\task\tdelete\tpath\t/w/**',
    ],
    [
      ['write', '/w/secret'],
      ['create', '/w/x'],
      ['delete', '/w/x'],
      ['write', '/other'],
    ],
  );
  assert.deepEqual(out, ['deny\tfirst', 'allow\tall', 'ask\task', 'deny\tno-rule']);
});

test('two-path events: the stricter decision wins; link judges the source as write', { skip }, () => {
  const out = judge(
    ['rule\tws\tb\tallow\t*\tpath\t/w/**'],
    [
      ['rename', '/w/a', '/w/b'],
      ['rename', '/w/a', '/x/b'],
      ['link', '/w/new', '/x/src'],
      ['link', '/w/new', '/w/src'],
    ],
  );
  assert.deepEqual(out, ['allow\tws', 'deny\tno-rule', 'deny\tno-rule', 'allow\tws']);
});

test('recursive deletes: rm -r/-R/--recursive/--rec, find -delete / -exec rm; tree rules', { skip }, () => {
  const rules = ['rule\thome\tb\tdeny\texec\ttree\t/h/u', 'rule\tx\tb\tallow\texec\tpath\t/**'];
  const ex = (cwd: string, ...argv: string[]) => ['exec', '/bin/x', '', cwd, ...argv];
  const out = judge(rules, [
    ex('/h', 'rm', '-rf', 'u'),
    ex('/h', 'rm', '-f', 'u'),
    ex('/', 'rm', 'h/u', '-R'),
    ex('/', 'rm', '--rec', '/h'),
    ex('/', 'rm', '-r', '--', '-x', '/h/u/sub'),
    ex('/h/u', 'find', '.', '-delete'),
    ex('/', 'find', '-L', '/h', '-name', 'x', '-exec', '/bin/rm', '{}', ';'),
    ex('/', 'find', '/h', '-name', 'x'),
    ex('/', '/usr/bin/rm', '-r', '/h/u/../u'),
  ]);
  assert.deepEqual(out, [
    'deny\thome',
    'allow\tx',
    'deny\thome',
    'deny\thome',
    'allow\tx',
    'deny\thome',
    'deny\thome',
    'allow\tx',
    'deny\thome',
  ]);
});

test('built-ins: the state dir and the workspace ancestors', { skip }, () => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'warden-h-'));
  try {
    fs.writeFileSync(
      join(dir, 'table'),
      [
        'warden-table\t1',
        'state\t/s/state',
        'socket\t/s/state/warden.sock',
        'workspace\t/w/p',
        'rule\tall\tb\tallow\t*\tpath\t/**',
      ].join('\n') + '\n',
    );
    const cases = [
      ['write', '/s/state/x'],
      ['read', '/s/state'],
      ['delete', '/w'],
      ['rename', '/w/p', '/w/q'],
      ['delete', '/w/p/x'],
    ];
    const r = spawnSync(match, [join(dir, 'table')], {
      input: cases.map((c) => c.join('\t')).join('\n') + '\n',
      encoding: 'utf8',
    });
    assert.deepEqual(r.stdout.trimEnd().split('\n'), [
      'deny\tbuiltin-state-dir',
      'deny\tbuiltin-state-dir',
      'deny\tbuiltin-protect-ancestor',
      'deny\tbuiltin-protect-ancestor',
      'allow\tall',
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'argv rules (WIRE.md §3): ** spans elements, argv[0] is the executable basename, * matches /',
  { skip },
  () => {
    const rules = [
      'rule\tgit-hard\t20-ask\task\texec\targv\tgit\\x1f**\\x1freset\\x1f**\\x1f--hard\\x1f**\tdelay=10,timeout=500,fallback=allow',
      'rule\tcurl-sh\t20-ask\task\texec\targv\tcurl\\x1f*://*',
      'rule\tall\t90\tallow\t*\tpath\t/**',
    ];
    const ex = (exe: string, ...argv: string[]) => ['exec', exe, '', '/w', ...argv];
    assert.deepEqual(
      judge(rules, [
        ex('/usr/bin/git', 'git', 'reset', '--hard'),
        ex('/usr/bin/git', 'git', '-C', '/x/y', 'reset', '-q', '--hard', 'HEAD~1'),
        ex('/usr/bin/git', '/usr/bin/git', 'reset', '--hard'), // argv[0] is judged by the exe's basename
        ex('/usr/bin/git', 'git', 'reset', '--soft'),
        ex('/usr/bin/git', 'git', 'reset'),
        ex('/usr/bin/gitk', 'git', 'reset', '--hard'),
        ex('/usr/bin/curl', 'curl', 'https://x/y/z'),
        ex('/usr/bin/curl', 'curl', 'https://x/y/z', '-o', 'f'),
        ['write', '/w/git'],
      ]),
      [
        'ask\tgit-hard',
        'ask\tgit-hard',
        'ask\tgit-hard',
        'allow\tall',
        'allow\tall',
        'allow\tall',
        'ask\tcurl-sh',
        'allow\tall',
        'allow\tall',
      ],
    );
  },
);

test('hold table records parse; unknown keys and bad params are errors', { skip }, () => {
  const load = (lines: string[]) => {
    const dir = fs.mkdtempSync(join(os.tmpdir(), 'warden-h-'));
    try {
      fs.writeFileSync(join(dir, 'table'), ['warden-table\t1', ...lines].join('\n') + '\n');
      return spawnSync(match, [join(dir, 'table')], { input: '', encoding: 'utf8' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  const ok = [
    'delete_delay_ms\t2000',
    'ask_timeout_ms\t300000',
    'bulk\t50\t10000',
    'idle_ms\t5000',
    'repeat\t5',
    'trash\t/s/trash/1',
    'rule\tr\tb\tdelay\tdelete\tpath\t/w/**\tdelay=300',
    'rule\tr2\tb\task\tdelete\tpath\t/w/**\ttimeout=10,fallback=deny',
  ];
  assert.equal(load(ok).status, 0, load(ok).stderr);
  for (const bad of [
    'bulk_gate\t50',
    'bulk\t50',
    'repeat\t-1',
    'trash\trelative',
    'rule\tr\tb\task\tdelete\tpath\t/w/**\twait=3',
    'rule\tr\tb\task\tdelete\tpath\t/w/**\tfallback=ask',
    'rule\tr\tb\task\tdelete\targv\tgit',
    'rule\tr\tb\task\texec\targv\t',
  ]) {
    const r = load([bad]);
    assert.notEqual(r.status, 0, bad);
  }
});
