// Recognising a recursive delete in an exec's argv (WIRE.md §1, "Built-in checks") and resolving its targets
// with realpath semantics. The C helper implements the same rules; test/policy-cases keeps the two equal.
import { realpathSync } from 'node:fs';
import { posix } from 'node:path';

const base = (a: string | undefined) => posix.basename(a ?? '');

/** `rm` operands when argv is a recursive rm (-r/-R/--recursive or an unambiguous prefix like --rec). */
function rmTargets(args: string[]): string[] | null {
  let recursive = false;
  let opts = true;
  const operands: string[] = [];
  for (const a of args) {
    if (opts && a === '--') opts = false;
    else if (opts && a.startsWith('--')) {
      // GNU getopt_long accepts any unambiguous prefix; --recursive is the only long option starting with r.
      const name = a.slice(2).split('=')[0] ?? '';
      if (name.length > 0 && 'recursive'.startsWith(name)) recursive = true;
    } else if (opts && a.startsWith('-') && a !== '-') {
      if (/[rR]/.test(a.slice(1))) recursive = true;
    } else operands.push(a);
  }
  return recursive ? operands : null;
}

/** `find` start paths when the expression deletes: `-delete`, or `-exec`/`-execdir`/`-ok`/`-okdir` running rm. */
function findTargets(args: string[]): string[] | null {
  let i = 0;
  // Leading options: -H -L -P, -D debugopts, -Olevel.
  while (i < args.length) {
    const a = args[i] as string;
    if (a === '-H' || a === '-L' || a === '-P' || a.startsWith('-O')) i++;
    else if (a === '-D' && i + 1 < args.length) i += 2;
    else break;
  }
  const starts: string[] = [];
  while (i < args.length && !/^[-(!,]/.test(args[i] as string)) starts.push(args[i++] as string);
  const expr = args.slice(i);
  const deletes = expr.some(
    (a, k) =>
      a === '-delete' || (['-exec', '-execdir', '-ok', '-okdir'].includes(a) && base(expr[k + 1]) === 'rm'),
  );
  if (!deletes) return null;
  return starts.length > 0 ? starts : ['.'];
}

/**
 * The targets of a recursive delete, unresolved, or null when argv is not one. Recognises `rm` with
 * -r/-R/--recursive (also inside combined short flags like -rf and after operands, as GNU getopt permutes;
 * `--` ends options) and `find` with -delete or -exec/-execdir rm (targets = start paths, default `.`).
 */
export function recursiveDeleteTargets(argv: readonly string[]): string[] | null {
  const [cmd, ...args] = argv;
  if (base(cmd) === 'rm') return rmTargets(args);
  if (base(cmd) === 'find') return findTargets(args);
  return null;
}

/**
 * Resolves `target` against `cwd` (default `/`) with realpath semantics: each existing component is resolved
 * with fs.realpathSync (symlinks, `..` after a symlink); from the first missing component on, the rest is
 * appended and normalised lexically. Returns an absolute path without a trailing slash (except `/`).
 */
export function resolveTarget(target: string, cwd: string | undefined): string {
  const full = target.startsWith('/') ? target : `${cwd ?? '/'}/${target}`;
  const parts = full.split('/').filter((s) => s !== '' && s !== '.');
  let cur = '/';
  for (let i = 0; i < parts.length; i++) {
    const seg = parts[i] as string;
    const next = seg === '..' ? posix.dirname(cur) : posix.join(cur, seg);
    try {
      cur = realpathSync(next);
    } catch {
      return posix.join(next, ...parts.slice(i + 1));
    }
  }
  return cur;
}
