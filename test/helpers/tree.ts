// Filesystem tree helpers for tests: build a tree from a spec, and fingerprint a tree to compare states.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';

/** One entry of a makeTree spec. A string or Buffer is shorthand for `{ content }`. */
export type EntrySpec =
  | string
  | Buffer
  | {
      /** File content (default empty). */
      content?: string | Buffer;
      /** Create a directory instead of a file. */
      dir?: true;
      /** Create a symlink with this target instead of a file. */
      symlink?: string;
      /** Permission bits, e.g. 0o640 (applied after creation, so umask does not interfere). */
      mode?: number;
      /** Modification time (and access time) in milliseconds since the epoch. */
      mtimeMs?: number;
    };

/**
 * Creates `spec` under `root`. Keys are relative paths ('a/b/c.txt'; parents are created with mode 0755);
 * a key may also be given as a Buffer-hex form `hex:<hex>` for non-UTF-8 names. Entries are created in key
 * order, directory modes and times are applied last (so creating children does not disturb them).
 */
export function makeTree(root: string, spec: Record<string, EntrySpec>): void {
  fs.mkdirSync(root, { recursive: true });
  const dirs: [string | Buffer, { mode?: number; mtimeMs?: number }][] = [];
  for (const [rel, raw] of Object.entries(spec).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const e = typeof raw === 'string' || Buffer.isBuffer(raw) ? { content: raw } : raw;
    const p: string | Buffer = rel.startsWith('hex:')
      ? Buffer.concat([Buffer.from(root + '/'), Buffer.from(rel.slice(4), 'hex')])
      : join(root, rel);
    fs.mkdirSync(typeof p === 'string' ? dirname(p) : root, { recursive: true, mode: 0o755 });
    if (e.dir) {
      fs.mkdirSync(p, { recursive: true });
      dirs.push([p, e]);
      continue;
    }
    if (e.symlink !== undefined) {
      fs.symlinkSync(e.symlink, p);
      continue;
    }
    fs.writeFileSync(p, e.content ?? '');
    if (e.mode !== undefined) fs.chmodSync(p, e.mode);
    if (e.mtimeMs !== undefined) fs.utimesSync(p, e.mtimeMs / 1000, e.mtimeMs / 1000);
  }
  for (const [p, e] of dirs.reverse()) {
    if (e.mode !== undefined) fs.chmodSync(p, e.mode);
    if (e.mtimeMs !== undefined) fs.utimesSync(p, e.mtimeMs / 1000, e.mtimeMs / 1000);
  }
}

/** Options of hashTree. */
export interface HashTreeOptions {
  /** Include file and symlink mtimes (whole milliseconds) in the fingerprint. Default false. */
  mtime?: boolean;
  /** Include directory mtimes too (only meaningful if nothing was created in them since). Default false. */
  dirMtime?: boolean;
  /** Relative paths (or prefixes ending in '/') to leave out. */
  ignore?: string[];
}

/** A name as a map key: UTF-8 text as is, other bytes as `\xHH` escapes. */
function nameKey(b: Buffer): string {
  const s = b.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(b)) return s;
  return [...b]
    .map((c) => (c < 0x80 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16)}`))
    .join('');
}

/**
 * Fingerprints every entry beneath `root` (not `root` itself): relative path → a string describing its
 * type and content, e.g. `file 0644 <sha256>`, `dir 0755`, `symlink -> target`, `fifo 0644`. Non-UTF-8
 * names appear with `\xHH` escapes. Two trees are equal iff their maps are deepStrictEqual.
 */
export function hashTree(root: string, o: HashTreeOptions = {}): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: Buffer, rel: string): void => {
    for (const name of (fs.readdirSync(abs, { encoding: 'buffer' }) as Buffer[]).sort(Buffer.compare)) {
      const p = Buffer.concat([abs, Buffer.from('/'), name]);
      const r = rel ? `${rel}/${nameKey(name)}` : nameKey(name);
      if (o.ignore?.some((i) => r === i || (i.endsWith('/') && r.startsWith(i)))) continue;
      const st = fs.lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
      const mt = o.mtime ? ` mtime=${Math.floor(st.mtimeMs)}` : '';
      if (st.isSymbolicLink()) {
        out.set(r, `symlink -> ${nameKey(fs.readlinkSync(p, { encoding: 'buffer' }))}${mt}`);
      } else if (st.isDirectory()) {
        out.set(r, `dir ${mode}${o.dirMtime ? ` mtime=${Math.floor(st.mtimeMs)}` : ''}`);
        walk(p, r);
      } else if (st.isFile()) {
        out.set(r, `file ${mode} ${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}${mt}`);
      } else {
        out.set(r, `${st.isFIFO() ? 'fifo' : 'other'} ${mode}`);
      }
    }
  };
  walk(Buffer.from(root), '');
  return out;
}

/** Lists the differences between two hashTree maps as readable lines (empty when equal). */
export function diffTrees(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k}: ${v} => ${b.get(k) ?? '(missing)'}`);
  for (const [k, v] of b) if (!a.has(k)) out.push(`${k}: (missing) => ${v}`);
  return out;
}
