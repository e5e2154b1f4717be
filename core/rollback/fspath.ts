// Byte-exact path helpers for FsPath (string | Buffer): node:path only handles strings, and a non-UTF-8 name
// must reach the kernel unchanged, so Buffer paths are split and joined at the byte level.
import * as fs from 'node:fs';
import { basename, dirname } from 'node:path';
import type { FsPath } from '../wire/events.js';
import type { PlanStep } from './plan.js';

const SLASH = 0x2f;

/** The exact path of a plan step's `path` (which: 'path') or `path2` (which: 'path2'). */
export function stepPath(s: PlanStep, which: 'path' | 'path2' = 'path'): FsPath {
  const hex = which === 'path' ? s.pathHex : s.path2Hex;
  if (hex !== undefined) return Buffer.from(hex, 'hex');
  const p = which === 'path' ? s.path : s.path2;
  if (p === undefined) throw new Error(`plan step ${s.seq} (${s.action}) has no ${which}`);
  return p;
}

/** A stable map key for an FsPath. */
export function pathKey(p: FsPath): string {
  return typeof p === 'string' ? p : `\0hex:${p.toString('hex')}`;
}

/** Parent directory (like path.dirname). */
export function parentOf(p: FsPath): FsPath {
  if (typeof p === 'string') return dirname(p);
  const i = p.lastIndexOf(SLASH);
  return i <= 0 ? Buffer.from('/') : p.subarray(0, i);
}

/** A sibling of `p` named `.<basename>.<tag>` (for temp files renamed over `p`). */
export function siblingTemp(p: FsPath, tag: string): FsPath {
  if (typeof p === 'string') return `${dirname(p)}/.${basename(p)}.${tag}`;
  const i = p.lastIndexOf(SLASH);
  return Buffer.concat([p.subarray(0, i + 1), Buffer.from('.'), p.subarray(i + 1), Buffer.from(`.${tag}`)]);
}

/** `root` + absolute `p` (so `/ws/a` under `/s/aside` is `/s/aside/ws/a`), plus an optional suffix. */
export function under(root: string, p: FsPath, suffix = ''): FsPath {
  if (typeof p === 'string') return `${root}${p.startsWith('/') ? '' : '/'}${p}${suffix}`;
  const lead = p[0] === SLASH ? '' : '/';
  return Buffer.concat([Buffer.from(root + lead), p, Buffer.from(suffix)]);
}

/** Display form of an FsPath (UTF-8 strings as-is, other bytes as latin1). */
export function showFsPath(p: FsPath): string {
  return typeof p === 'string' ? p : p.toString('latin1');
}

/** lstat that returns undefined for a missing path (ENOENT / ENOTDIR). */
export function lstatMaybe(p: FsPath): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** Moves `from` to `to` (creating `to`'s parent), copying then removing across filesystems. */
export function moveAcross(from: FsPath, to: FsPath): void {
  fs.mkdirSync(parentOf(to), { recursive: true, mode: 0o700 });
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    const [f, t] = [showFsPathExact(from), showFsPathExact(to)];
    fs.cpSync(f, t, {
      recursive: true,
      verbatimSymlinks: true,
      preserveTimestamps: true,
      errorOnExist: true,
    });
    fs.rmSync(from, { recursive: true, force: true });
  }
}

// fs.cpSync only takes strings; a Buffer path goes through latin1 only if it round-trips (else it throws).
function showFsPathExact(p: FsPath): string {
  if (typeof p === 'string') return p;
  const s = p.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(p)) return s;
  throw new Error(`cannot move non-UTF-8 path across filesystems: ${showFsPath(p)}`);
}
