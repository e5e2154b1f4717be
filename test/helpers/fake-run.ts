// A stand-in for warden-supervise in tests: performs real filesystem operations and writes exactly what the
// helper would (helper/linux/WIRE.md §2): the pre-image into state/stage/<run>/<seq> *before* the op (hardlink
// for deletes and rename-over of nlink-1 files, byte copy for overwrite/truncate or nlink > 1), then one `ev`
// line into state/runs/<run>/events.ndjson.
import * as fs from 'node:fs';
import { join } from 'node:path';

type P = string | Buffer;

/** Pre-image descriptor as the helper writes it (before hex encoding). */
function statPre(p: P, kind: string): Record<string, unknown> {
  const st = fs.lstatSync(p, { bigint: true });
  const ts = (ns: bigint) => [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  const pre: Record<string, unknown> = {
    kind, type, mode: Number(st.mode), uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size),
    mtime: ts(st.mtimeNs), atime: ts(st.atimeNs), dev: Number(st.dev), ino: Number(st.ino), nlink: Number(st.nlink),
  }; // prettier-ignore
  if (type === 'symlink') Object.assign(pre, field('target', fs.readlinkSync(p, { encoding: 'buffer' })));
  return pre;
}

/** `{f: text}` when valid UTF-8, else `{f_hex: hex}` (the wire's rule for every string). */
function field(f: string, v: P | null): Record<string, unknown> {
  if (v === null) return { [f]: null };
  const b = Buffer.isBuffer(v) ? v : Buffer.from(v);
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) ? { [f]: s } : { [`${f}_hex`]: b.toString('hex') };
}

const exists = (p: P) => fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;

/** Writes a run's event log and stage files while mutating the real filesystem. */
export class FakeRun {
  seq = 0;
  readonly eventsPath: string;
  readonly stageDir: string;
  private readonly fd: number;

  /** `stateDir` is the Warden state dir; creates runs/<run>/ and stage/<run>/ (0700). */
  constructor(
    readonly stateDir: string,
    readonly run: number,
    readonly pid = 4242,
  ) {
    this.eventsPath = join(stateDir, 'runs', String(run), 'events.ndjson');
    this.stageDir = join(stateDir, 'stage', String(run));
    fs.mkdirSync(join(stateDir, 'runs', String(run)), { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.stageDir, { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(this.eventsPath, 'a');
  }

  /** Appends raw text to the log (e.g. a partial line). */
  raw(text: string): void {
    fs.writeSync(this.fd, text);
  }

  /** Appends one JSON object as a line. */
  line(o: Record<string, unknown>): void {
    this.raw(JSON.stringify(o) + '\n');
  }

  start(): this {
    this.line({
      t: 'start',
      run: this.run,
      pid: this.pid,
      helper_pid: this.pid - 1,
      ts: Date.now(),
      landlock: 7,
      seccomp: true,
    });
    return this;
  }

  proc(pid: number, ppid: number, argv: string[]): this {
    this.line({ t: 'proc', pid, ppid, argv, exe: `/usr/bin/${argv[0]}`, cwd: '/', ts: Date.now() });
    return this;
  }

  /** Appends an `ev` line; `extra` overrides defaults (decision allow, err 0). Returns the seq. */
  ev(
    op: string,
    sys: string,
    path: P,
    path2: P | null,
    pre: Record<string, unknown> | null,
    extra = {},
  ): number {
    const seq = ++this.seq;
    this.line({
      t: 'ev', seq, ts: Date.now(), pid: this.pid, tid: this.pid, op, sys, ...field('path', path),
      ...field('path2', path2), flags: 0, decision: 'allow', rule: 'allow-workspace', band: '90-default', err: 0,
      pre, ...extra,
    }); // prettier-ignore
    return seq;
  }

  private stage(): string {
    return join(this.stageDir, String(this.seq + 1));
  }

  /** Overwrites (or creates) a file: pre `copy` if it existed, else op create with pre `none`. */
  write(p: P, data: string | Buffer): number {
    if (!exists(p)) {
      fs.writeFileSync(p, data);
      return this.ev('create', 'openat', p, null, { kind: 'none' });
    }
    const pre = statPre(p, 'copy');
    fs.copyFileSync(p, this.stage());
    fs.writeFileSync(p, data);
    return this.ev('write', 'openat', p, null, pre);
  }

  truncate(p: P, len: number): number {
    const pre = statPre(p, 'copy');
    fs.copyFileSync(p, this.stage());
    fs.truncateSync(p, len);
    return this.ev('write', 'truncate', p, null, pre);
  }

  /** Deletes a file or symlink the way the helper does (hardlink or copy first). */
  unlink(p: P): number {
    const st = fs.lstatSync(p);
    let pre: Record<string, unknown>;
    if (st.isFile()) {
      pre = statPre(p, st.nlink === 1 ? 'link' : 'copy');
      if (st.nlink === 1) fs.linkSync(p, this.stage());
      else fs.copyFileSync(p, this.stage());
    } else pre = statPre(p, 'meta');
    fs.unlinkSync(p);
    return this.ev('delete', 'unlinkat', p, null, pre);
  }

  rmdir(p: P): number {
    const pre = statPre(p, 'meta');
    fs.rmdirSync(p);
    return this.ev('delete', 'unlinkat', p, null, pre, { flags: 0x200 });
  }

  /** Recursive delete, children first (like `rm -rf`). */
  rmTree(p: string): void {
    for (const name of fs.readdirSync(p)) {
      const c = join(p, name);
      if (fs.lstatSync(c).isDirectory()) this.rmTree(c);
      else this.unlink(c);
    }
    this.rmdir(p);
  }

  mkdir(p: P, mode = 0o755): number {
    fs.mkdirSync(p, { mode });
    return this.ev('mkdir', 'mkdirat', p, null, { kind: 'none' });
  }

  symlink(target: string, p: P): number {
    fs.symlinkSync(target, p);
    return this.ev('create', 'symlinkat', p, target, { kind: 'none' });
  }

  /** rename(src, dst): pre describes the replaced destination, pre2 the source. */
  rename(src: P, dst: P): number {
    let pre: Record<string, unknown> = { kind: 'none' };
    const dst0 = fs.lstatSync(dst, { throwIfNoEntry: false });
    if (dst0?.isFile()) {
      pre = statPre(dst, dst0.nlink === 1 ? 'link' : 'copy');
      if (dst0.nlink === 1) fs.linkSync(dst, this.stage());
      else fs.copyFileSync(dst, this.stage());
    } else if (dst0) pre = statPre(dst, 'meta');
    const pre2 = statPre(src, 'meta');
    fs.renameSync(src, dst);
    return this.ev('rename', 'renameat2', src, dst, pre, { pre2 });
  }

  chmod(p: P, mode: number): number {
    const pre = statPre(p, 'meta');
    fs.chmodSync(p, mode);
    return this.ev('chmod', 'fchmodat', p, null, pre);
  }

  /** Writes the `end` line and closes the log. */
  end(status = 0): void {
    this.line({ t: 'end', ts: Date.now(), status, signal: 0, events: this.seq, denied: 0, preimages: 0 });
    this.close();
  }

  /** Closes the log without an `end` line (a helper that died). */
  close(): void {
    fs.closeSync(this.fd);
  }
}
