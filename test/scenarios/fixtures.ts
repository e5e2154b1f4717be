/**
 * Real file trees for the scenarios: nested dirs with random bytes, odd names (spaces, a newline, unicode),
 * modes, relative symlinks, a git repo with uncommitted work and an ignored data dir, a SQLite database.
 * Content comes from a seeded PRNG so a failing scenario can be replayed.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, symlinkSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';

/** Deterministic bytes from a seed (xorshift32). */
export function randomBytes(seed: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/**
 * Builds a nested tree under `dir`: `width` entries per level, `depth` levels, files of 0–`maxSize` bytes,
 * plus odd names, an executable, a 0600 file and relative symlinks. Returns the number of files written.
 */
export function randomTree(dir: string, seed: number, width = 4, depth = 3, maxSize = 4096): number {
  let files = 0;
  const level = (d: string, left: number, s: number) => {
    mkdirSync(d, { recursive: true });
    for (let i = 0; i < width; i++) {
      const size = (s * 7919 + i * 104729) % (maxSize + 1);
      writeFileSync(join(d, `file ${i}.bin`), randomBytes(s * 31 + i, size));
      files++;
      if (left > 0) level(join(d, `dir${i}`), left - 1, s * 13 + i + 1);
    }
  };
  level(dir, depth - 1, seed);
  writeFileSync(join(dir, 'new\nline.txt'), 'a name with a newline\n');
  writeFileSync(join(dir, 'ünïcödé – name.txt'), 'unicode\n');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(dir, 'run.sh'), 0o755);
  writeFileSync(join(dir, 'secret.key'), randomBytes(seed + 99, 64));
  chmodSync(join(dir, 'secret.key'), 0o600);
  symlinkSync('file 0.bin', join(dir, 'link-to-file'));
  symlinkSync('dir0', join(dir, 'link-to-dir'));
  symlinkSync('does-not-exist', join(dir, 'dangling'));
  return files + 4;
}

/** Runs a command (argv array) synchronously and asserts it succeeded; returns stdout. */
export function sh(cwd: string, argv: string[], env?: NodeJS.ProcessEnv): string {
  const [cmd, ...args] = argv;
  const r = spawnSync(cmd!, args, { cwd, encoding: 'utf8', env: env ?? process.env });
  assert.equal(r.status, 0, `${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * A git repo with two commits, uncommitted edits to tracked files, an untracked file and an ignored `data/`
 * dir holding files that exist nowhere else.
 */
export function gitRepo(dir: string, env: NodeJS.ProcessEnv): void {
  mkdirSync(dir, { recursive: true });
  sh(dir, ['git', 'init', '-q', '-b', 'main'], env);
  writeFileSync(join(dir, '.gitignore'), 'data/\n*.log\n');
  randomTree(join(dir, 'src'), 11, 3, 2, 2048);
  sh(dir, ['git', 'add', '-A'], env);
  sh(dir, ['git', 'commit', '-qm', 'first'], env);
  writeFileSync(join(dir, 'src', 'file 1.bin'), randomBytes(5, 300));
  sh(dir, ['git', 'commit', '-qam', 'second'], env);
  // uncommitted work: edits, a new untracked file, ignored data
  writeFileSync(join(dir, 'src', 'file 0.bin'), 'a day of uncommitted work\n');
  writeFileSync(join(dir, 'src', 'dir1', 'file 2.bin'), randomBytes(77, 999));
  writeFileSync(join(dir, 'notes.txt'), 'untracked notes\n');
  randomTree(join(dir, 'data'), 23, 3, 2, 8192);
  writeFileSync(join(dir, 'build.log'), 'ignored log\n');
}

/** A SQLite database with a table of rows, written by python3's sqlite3 module. */
export function sqliteDb(path: string, rows: number): void {
  const code = [
    'import sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1])',
    'db.execute("create table t (id integer primary key, v text)")',
    'db.executemany("insert into t (v) values (?)", [("row %d" % i,) for i in range(int(sys.argv[2]))])',
    'db.commit(); db.close()',
  ].join('\n');
  const r = spawnSync('python3', ['-c', code, path, String(rows)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}
