/**
 * Previews for holds: what a person needs to see before deciding — for deletes the file count, bytes and top
 * directories that would go; for mode changes before/after; for commands the lines of what would be lost
 * (dirty files for `git reset --hard`, what `git clean -n` would remove). All bounded in time and size.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Hold } from '../api/contract.js';

/** Most entries a delete preview walks before it says "truncated". */
export const PREVIEW_MAX_ENTRIES = 200_000;
const MAX_LINES = 200;

/**
 * Counts files and bytes beneath `root` (not following symlinks), with the largest top-level directories.
 * A plain file counts itself. Missing paths give zero counts.
 */
export function deletePreview(root: string): Extract<NonNullable<Hold['preview']>, { kind: 'delete' }> {
  let files = 0;
  let bytes = 0;
  let seen = 0;
  let truncated = false;
  const top = new Map<string, { files: number; bytes: number }>();
  const walk = (p: string, topKey: string | null) => {
    if (seen++ >= PREVIEW_MAX_ENTRIES) {
      truncated = true;
      return;
    }
    let st;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      let names: string[] = [];
      try {
        names = readdirSync(p);
      } catch {
        return;
      }
      for (const n of names) walk(join(p, n), topKey ?? (p === root ? join(p, n) : null));
      return;
    }
    files++;
    bytes += st.size;
    if (topKey) {
      const t = top.get(topKey) ?? { files: 0, bytes: 0 };
      t.files++;
      t.bytes += st.size;
      top.set(topKey, t);
    }
  };
  walk(root, null);
  const tops = [...top.entries()]
    .map(([path, v]) => ({ path, ...v }))
    .sort((a, b) => b.bytes - a.bytes || b.files - a.files)
    .slice(0, 5);
  return { kind: 'delete', files, bytes, top: tops, truncated };
}

function gitLines(cwd: string, args: string[]): { lines: string[]; truncated: boolean } | null {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', timeout: 3000, maxBuffer: 4 << 20 });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  const all = r.stdout.split('\n').filter(Boolean);
  return { lines: all.slice(0, MAX_LINES), truncated: all.length > MAX_LINES };
}

/**
 * For git commands that discard work, the list of what would be lost, computed by running git's own
 * read-only equivalents in the process's cwd. Null when nothing useful can be said.
 */
export function commandPreview(argv: string[], cwd: string | null): Hold['preview'] {
  if (!cwd || argv.length === 0 || basename(argv[0]!) !== 'git') return null;
  const sub = argv.slice(1).find((a) => !a.startsWith('-'));
  if (sub === 'reset' || sub === 'checkout' || sub === 'restore') {
    const got = gitLines(cwd, ['status', '--porcelain', '--untracked-files=no']);
    if (!got) return null;
    return { kind: 'command', title: 'uncommitted changes that would be lost', ...got };
  }
  if (sub === 'clean') {
    const flags = argv.slice(2).filter((a) => a.startsWith('-') && !a.startsWith('--') && a !== '-n');
    const letters = new Set(flags.join('').replace(/-/g, '').split(''));
    const dry = ['clean', '-n', ...['d', 'x', 'X'].filter((l) => letters.has(l)).map((l) => `-${l}`)];
    const got = gitLines(cwd, dry);
    if (!got) return null;
    return { kind: 'command', title: 'files git clean would remove', ...got };
  }
  return null;
}

/** Octal mode string, e.g. `0644`. */
export function modeString(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}
