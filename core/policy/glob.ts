// Policy globs: the subset WIRE.md §1 defines (`*`, `?`, `[...]`/`[!...]`, `**` as a whole segment, backslash
// escapes) plus what is expanded before the table is written: `{a,b}` braces (with `braces`), `~` at the start
// and `${workspace}` `${home}` `${tmp}` `${state}`. Matching uses picomatch with every literal punctuation char
// escaped, so picomatch's extra syntax (extglobs, negation, regex groups) can never apply.
import braces from 'braces';
import picomatch from 'picomatch';

/** Absolute, realpath'd directories the caller resolved for one run. `socket` defaults to `${state}/warden.sock`. */
export interface PolicyVars {
  workspace: string;
  home: string;
  tmp: string[];
  state: string;
  socket?: string;
}
export const VAR_NAMES = ['workspace', 'home', 'tmp', 'state'] as const;

/** A glob or tree pattern outside the supported subset. */
export class GlobError extends Error {}

/** One brace/variable alternative of a pattern, ready for the table and for matching. */
export interface ExpandedGlob {
  /** Absolute glob in WIRE.md syntax (a leading `**` becomes `/**`). */
  glob: string;
  /** The pattern started with `**`: it never widens the Landlock wall. */
  relative: boolean;
  /** Literal path P when the glob is `P` or `P/**` (wall candidate), else null. */
  root: string | null;
  match: (path: string) => boolean;
}

type Tok =
  | { t: 'lit'; ch: string }
  | { t: 'sep' | 'star' | 'q' | 'globstar' }
  | { t: 'class'; neg: boolean; items: [string, string][] };

const PM_OPTS = { dot: true, noextglob: true, nonegate: true, nobrace: true, posix: true } as const;
const PUA = 0xe000;

/** Escapes a literal string (a variable's value) so that it matches only itself in WIRE glob syntax. */
export function globEscape(s: string): string {
  return s.replace(/[\\*?[\]]/g, (c) => `\\${c}`);
}

function tokenize(g: string, allowDots: boolean): Tok[] {
  const toks: Tok[] = [];
  for (let i = 0; i < g.length; i++) {
    const c = g[i] as string;
    const prev = toks[toks.length - 1];
    if (c === '\\') {
      if (i + 1 >= g.length) throw new GlobError('dangling backslash at the end of the pattern');
      toks.push({ t: 'lit', ch: g[++i] as string });
    } else if (c === '/') {
      if (prev?.t === 'sep') throw new GlobError('empty path segment (//)');
      toks.push({ t: 'sep' });
    } else if (c === '*' && g[i + 1] === '*') {
      if ((prev && prev.t !== 'sep') || (i + 2 < g.length && g[i + 2] !== '/'))
        throw new GlobError('** must be a whole path segment');
      toks.push({ t: 'globstar' });
      i++;
    } else if (c === '*' || c === '?') {
      if (g[i + 1] === '(') throw new GlobError(`extglob ${c}( is not supported (escape the parenthesis)`);
      toks.push({ t: c === '*' ? 'star' : 'q' });
    } else if (c === '[') {
      const tok: Tok = { t: 'class', neg: g[i + 1] === '!' || g[i + 1] === '^', items: [] };
      let j = tok.neg ? i + 2 : i + 1;
      const chars: string[] = [];
      for (let first = true; first || g[j] !== ']'; first = false, j++) {
        if (j >= g.length) throw new GlobError('unclosed [ (escape it as \\[ for a literal)');
        if (g[j] === '/') throw new GlobError('a [...] class cannot contain /');
        if (g[j] === '[' && g[j + 1] === ':') throw new GlobError('[:class:] names are not supported');
        chars.push(g[j] === '\\' ? (g[++j] ?? '') : (g[j] as string));
      }
      for (let k = 0; k < chars.length; k++) {
        const lo = chars[k] as string;
        const hi = chars[k + 2];
        if (chars[k + 1] === '-' && hi !== undefined) {
          tok.items.push([lo, hi]);
          k += 2;
        } else tok.items.push([lo, lo]);
      }
      toks.push(tok);
      i = j;
    } else if ('+@!'.includes(c) && g[i + 1] === '(') {
      throw new GlobError(`extglob ${c}( is not supported (escape the parenthesis)`);
    } else toks.push({ t: 'lit', ch: c });
  }
  if (toks[toks.length - 1]?.t === 'sep' && toks.length > 1)
    throw new GlobError('pattern ends with / (canonical paths never do; use dir/** for a tree)');
  if (!allowDots) {
    const segs = toGlob(toks).split('/');
    if (segs.some((s) => s === '.' || s === '..'))
      throw new GlobError('. and .. segments never match canonical paths');
  }
  return toks;
}

const pmEsc = (ch: string) => (/[A-Za-z0-9_]/.test(ch) || ch.charCodeAt(0) > 127 ? ch : `\\${ch}`);
const wireEsc = (ch: string) => ('\\*?[]'.includes(ch) ? `\\${ch}` : ch);

function render(toks: Tok[], esc: (ch: string) => string, neg: string): string {
  return toks
    .map((k) => {
      if (k.t === 'lit') return esc(k.ch);
      if (k.t === 'class')
        return `[${k.neg ? neg : ''}${k.items.map(([a, b]) => (a === b ? esc(a) : `${esc(a)}-${esc(b)}`)).join('')}]`;
      return { sep: '/', star: '*', q: '?', globstar: '**' }[k.t];
    })
    .join('');
}
const toGlob = (toks: Tok[]) => render(toks, wireEsc, '!');
const isLiteral = (toks: Tok[]) => toks.every((k) => k.t === 'lit' || k.t === 'sep');

/** Brace-expands `raw` and substitutes `~` and `${…}`; returns alternatives that still carry glob escapes. */
function expandRaw(raw: string, vars: PolicyVars): string[] {
  if (raw.startsWith('!'))
    throw new GlobError('negated patterns (!…) are not supported; use rule order instead');
  if (/[\ue000-\uf8ff]/.test(raw))
    throw new GlobError('private-use characters (U+E000–U+F8FF) are not supported');
  const slots: string[][] = [];
  let prot = '';
  let depth = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === '\\' && i + 1 < raw.length) {
      slots.push([`\\${raw[++i]}`]);
      prot += String.fromCharCode(PUA + slots.length - 1);
    } else if (c === '$' && raw[i + 1] === '{') {
      const end = raw.indexOf('}', i);
      const name = raw.slice(i + 2, end < 0 ? undefined : end);
      if (end < 0 || !(VAR_NAMES as readonly string[]).includes(name))
        throw new GlobError(
          `unknown variable \${${name}} (known: ${VAR_NAMES.map((v) => `\${${v}}`).join(' ')})`,
        );
      const v = vars[name as (typeof VAR_NAMES)[number]];
      slots.push((Array.isArray(v) ? v : [v]).map(globEscape));
      prot += String.fromCharCode(PUA + slots.length - 1);
      i = end;
    } else {
      if (c === '{') depth++;
      if (c === '}' && --depth < 0) throw new GlobError('unbalanced } (escape it as \\} for a literal)');
      prot += c;
    }
  }
  if (depth !== 0) throw new GlobError('unbalanced { (escape it as \\{ for a literal)');
  let alts = [prot];
  try {
    if (prot.includes('{')) alts = braces(prot, { expand: true });
  } catch (err) {
    throw new GlobError(`brace expansion failed: ${(err as Error).message}`);
  }
  const out: string[] = [];
  const fill = (s: string, at: number): void => {
    const i = [...s].findIndex(
      (ch, k) => k >= at && ch.charCodeAt(0) >= PUA && ch.charCodeAt(0) < PUA + 6400,
    );
    if (i < 0) return void out.push(s);
    const chars = [...s];
    for (const val of slots[(chars[i] as string).charCodeAt(0) - PUA] ?? [])
      fill(chars.slice(0, i).join('') + val + chars.slice(i + 1).join(''), i + [...val].length);
  };
  for (const a of alts) fill(/^~(\/|$)/.test(a) ? globEscape(vars.home) + a.slice(1) : a, 0);
  return out;
}

/**
 * Expands a raw path glob for `vars` into table-ready alternatives.
 * @throws GlobError when the pattern is outside the supported subset or not absolute after expansion
 *   (it must start with `/`, `~`, `${…}` or `**`).
 */
export function expandGlob(raw: string, vars: PolicyVars): ExpandedGlob[] {
  return expandRaw(raw, vars).map((alt) => {
    const relative = alt.startsWith('**');
    if (!relative && !alt.startsWith('/'))
      throw new GlobError(
        `pattern ${JSON.stringify(alt)} is relative: start it with /, ~, \${workspace}… or **`,
      );
    const toks = tokenize(relative ? `/${alt}` : alt, false);
    const last = toks.length - 1;
    let root: string | null = null;
    if (isLiteral(toks)) root = render(toks, (c) => c, '');
    else if (!relative && toks[last]?.t === 'globstar' && isLiteral(toks.slice(0, last)))
      root = render(toks.slice(0, last - 1), (c) => c, '') || '/';
    // picomatch's `/**/x` does not match `/x`, but its `**/x` does (zero segments, as WIRE.md wants).
    const re = picomatch(render(toks, pmEsc, '^').replace(/^\/\*\*(?=\/|$)/, '**'), PM_OPTS);
    return { glob: toGlob(toks), relative, root, match: (p: string) => re(p) };
  });
}

/**
 * Expands a raw `tree` pattern (exec rules) into absolute literal paths, normalised lexically so that
 * `${workspace}/..` names the workspace's parent. @throws GlobError on glob characters or a relative result.
 */
export function expandTree(raw: string, vars: PolicyVars): string[] {
  return expandRaw(raw, vars).map((alt) => {
    const toks = tokenize(alt, true);
    if (!alt.startsWith('/') || !isLiteral(toks))
      throw new GlobError(
        `tree pattern ${JSON.stringify(alt)} must be a literal absolute path (no glob characters)`,
      );
    const parts: string[] = [];
    for (const seg of render(toks, (c) => c, '').split('/'))
      if (seg === '..') parts.pop();
      else if (seg !== '' && seg !== '.') parts.push(seg);
    return `/${parts.join('/')}`;
  });
}

/** Separator of argv elements in a table `argv` PATTERN (WIRE.md §3): ASCII unit separator. */
export const ARGV_SEP = '\x1f';

/** A compiled `command: { argv: [...] }` alternative. */
export interface ArgvPattern {
  /** The elements joined with {@link ARGV_SEP}, as the table's PATTERN field carries them. */
  glob: string;
  /**
   * True when `argv` matches; element 0 is compared with the basename of `exe` (the resolved executable) when
   * given, else with the basename of argv[0].
   */
  match: (argv: readonly string[], exe?: string) => boolean;
}

/** One argv element glob → RegExp: §1 syntax, but `*` also matches `/` (`?` and classes still do not). */
function argvElementRegex(el: string): RegExp {
  if (el === '') throw new GlobError('an argv element pattern cannot be empty');
  if (el.includes('\x00') || el.includes(ARGV_SEP))
    throw new GlobError('argv element patterns cannot contain NUL or \\x1f');
  const hex = (ch: string) => `\\u{${(ch.codePointAt(0) ?? 0).toString(16)}}`;
  let re = '';
  const chars = [...el];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '\\') {
      if (i + 1 >= chars.length) throw new GlobError('dangling backslash at the end of the pattern');
      re += hex(chars[++i] as string);
    } else if (c === '*') {
      if (chars[i + 1] === '*')
        throw new GlobError('** must be a whole argv element (inside an element, * already matches /)');
      re += '[^]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const neg = chars[i + 1] === '!' || chars[i + 1] === '^';
      let j = neg ? i + 2 : i + 1;
      const items: string[] = [];
      for (let first = true; first || chars[j] !== ']'; first = false, j++) {
        if (j >= chars.length) throw new GlobError('unclosed [ (escape it as \\[ for a literal)');
        if (chars[j] === '/') throw new GlobError('a [...] class cannot contain /');
        if (chars[j] === '[' && chars[j + 1] === ':')
          throw new GlobError('[:class:] names are not supported');
        items.push(chars[j] === '\\' ? (chars[++j] ?? '') : (chars[j] as string));
      }
      let cls = '';
      for (let k = 0; k < items.length; k++) {
        const lo = items[k] as string;
        const hi = items[k + 2];
        if (items[k + 1] === '-' && hi !== undefined) {
          cls += `${hex(lo)}-${hex(hi)}`;
          k += 2;
        } else cls += hex(lo);
      }
      re += neg ? `(?![/])[^${cls}]` : `[${cls}]`;
      i = j;
    } else re += hex(c);
  }
  return new RegExp(`^${re}$`, 'u');
}

/**
 * Compiles one argv pattern (WIRE.md §3): one glob per argv element, an element `**` matches zero or more
 * elements, element 0 is matched against the executable's basename. No variables or braces.
 * @throws GlobError for an empty list, an empty element, `**` inside an element, or bad glob syntax.
 */
export function compileArgv(elements: readonly string[]): ArgvPattern {
  if (elements.length === 0) throw new GlobError('argv pattern needs at least one element');
  const parts = elements.map((e) => (e === '**' ? null : argvElementRegex(e)));
  const match = (argv: readonly string[], exe?: string): boolean => {
    if (argv.length === 0) return false;
    const subject = [(exe ?? argv[0] ?? '').replace(/^.*\//, ''), ...argv.slice(1)];
    const memo = new Map<number, boolean>();
    const go = (p: number, a: number): boolean => {
      const key = p * (subject.length + 1) + a;
      const hit = memo.get(key);
      if (hit !== undefined) return hit;
      let r: boolean;
      if (p === parts.length) r = a === subject.length;
      else {
        const re = parts[p];
        if (re === null || re === undefined) r = go(p + 1, a) || (a < subject.length && go(p, a + 1));
        else r = a < subject.length && re.test(subject[a] as string) && go(p + 1, a + 1);
      }
      memo.set(key, r);
      return r;
    };
    return go(0, 0);
  };
  return { glob: elements.join(ARGV_SEP), match };
}
