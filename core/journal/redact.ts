// Redaction of secrets before anything reaches the journal: argv of processes and events, environment
// variables, `.env`-style `KEY=value` text. A secret is replaced by REDACTED; the rest of the text is kept so
// the log stays readable (`--token=«redacted»`, `https://user:«redacted»@host/`).

/** The replacement for a secret. */
export const REDACTED = '«redacted»';

// A name (flag or variable) names a secret if one of its `_`/`-`/`.`-separated words is a secret word, or it
// ends in a qualified `key` (api_key, secret-key, …; a bare `key` is too common: `--sort-key`).
const SECRET_WORD =
  /(?:^|[_.-])(?:password|passwd|pwd|passphrase|pass|token|secret|credentials?|apikey|api-?token|auth|authtoken|bearer|cookie|session)(?:[_.-]|$)/i;
const SECRET_KEY =
  /(?:api|access|secret|private|signing|encryption|master|client|account|license)[_.-]?key(?:[_.-]|$)/i;
/** True if a flag or variable name (without leading dashes) names a secret. */
export function isSecretName(name: string): boolean {
  const n = name.replace(/^-+/, '');
  return SECRET_WORD.test(n) || SECRET_KEY.test(n) || /^[A-Z0-9_]*_KEY$/.test(n);
}

// Values that are secrets by their shape, wherever they appear.
const TOKEN_PATTERNS: RegExp[] = [
  /\bsk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_-]{16,}/g, // OpenAI / Anthropic / Stripe-style
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/g, // GitHub tokens
  /\bgithub_pat_[A-Za-z0-9_]{20,}/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key ids
  /\bAIza[0-9A-Za-z_-]{35}/g, // Google API keys
  /\bglpat-[A-Za-z0-9_-]{20,}/g, // GitLab
  /\bnpm_[A-Za-z0-9]{36}\b/g, // npm
  /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}/g, // Stripe
  /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g, // JWT
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
];
// `scheme://user:password@host`
const URL_CREDS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@/]+)@/gi;
// HTTP headers that carry credentials: `Authorization: Bearer xyz`, `X-Api-Key: xyz`, …
const AUTH_HEADER =
  /\b((?:proxy-)?authorization|x-api-key|api-key|x-auth-token|private-token|x-access-token|cookie)(\s*[:=]\s*)(?:(bearer|basic|token|digest|bot)\s+)?(\S.*)$/gim;
// NAME=value / NAME="value" (env assignments in shell strings, .env lines) with a secret-looking name.
const ASSIGN = /(^|[\s;&|'"(])(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)=("[^"]*"|'[^']*'|[^\s;&|'"]*)/g;

/** Shannon entropy in bits per character. */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) h -= (n / s.length) * Math.log2(n / s.length);
  return h;
}

/**
 * True for a value that looks like a random token: at least 20 characters of a base64/hex-ish alphabet,
 * letters and digits mixed, high entropy; not a path, not a plain hex digest (git object ids are common).
 */
export function looksLikeToken(v: string): boolean {
  if (v.length < 20 || !/^[A-Za-z0-9+/_=.~-]+$/.test(v)) return false;
  if (/^[./~]/.test(v) || (v.match(/\//g)?.length ?? 0) > 1) return false;
  if (/^[0-9a-f]+$/i.test(v)) return false;
  if (!/[0-9]/.test(v) || !/[A-Za-z]/.test(v)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[+/_=.~-]/].filter((re) => re.test(v)).length;
  return classes >= 3 && entropy(v) >= 3.7;
}

/** Redacts secrets found anywhere in a piece of text (one argv element, a header, a line of a file). */
export function redactText(s: string): string {
  if (s.length < 8) return s;
  let out = s;
  for (const re of TOKEN_PATTERNS) out = out.replace(re, REDACTED);
  out = out.replace(URL_CREDS, (_m, pre: string) => `${pre}:${REDACTED}@`);
  out = out.replace(AUTH_HEADER, (_m, name: string, sep: string, scheme: string | undefined) =>
    scheme ? `${name}${sep}${scheme} ${REDACTED}` : `${name}${sep}${REDACTED}`,
  );
  out = out.replace(ASSIGN, (m, lead: string, name: string, value: string) => {
    const bare = value.replace(/^["']|["']$/g, '');
    if (bare === '' || bare === REDACTED) return m;
    if (isSecretName(name) || looksLikeToken(bare)) {
      const q = value.startsWith('"') ? '"' : value.startsWith("'") ? "'" : '';
      return `${lead}${m.slice(lead.length, m.length - value.length)}${q}${REDACTED}${q}`;
    }
    return m;
  });
  return out;
}

const MYSQL_LIKE =
  /^(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlshow|mysqlcheck|mysqlpump|mysqlsh|mariadb[a-z-]*)$/;

/**
 * A copy of `argv` with secrets replaced by REDACTED: values of secret-named flags (`--password=x`,
 * `--token x`), mysql-style `-pSECRET`, `curl -u user:pass`, credentials in URLs and headers, token-shaped
 * values anywhere, and high-entropy values after `=`. The length of argv is unchanged.
 */
export function redactArgv(argv: readonly string[]): string[] {
  const out = argv.slice();
  const prog = (argv[0] ?? '').replace(/^.*\//, '');
  const mysql = MYSQL_LIKE.test(prog);
  for (let i = 0; i < out.length; i++) {
    const a = out[i] as string;
    // --flag=value
    const eq = /^(--?[A-Za-z][A-Za-z0-9_.-]*)=([\s\S]*)$/.exec(a);
    if (eq) {
      const [, flag, value] = eq as unknown as [string, string, string];
      if (value !== '' && (isSecretName(flag) || looksLikeToken(value))) {
        out[i] = `${flag}=${REDACTED}`;
        continue;
      }
    }
    // --flag value (the next element is the secret)
    if (/^--?[A-Za-z][A-Za-z0-9_.-]*$/.test(a) && i + 1 < out.length) {
      const flag = a;
      const isSecretFlag = isSecretName(flag) && !(mysql && flag === '-p') && flag !== '--pass-through';
      if (isSecretFlag && !(out[i + 1] as string).startsWith('-')) {
        out[++i] = REDACTED;
        continue;
      }
      // curl/wget -u user:password, --user user:password
      if ((flag === '-u' || flag === '--user' || flag === '--proxy-user') && /:/.test(out[i + 1] as string)) {
        const v = out[i + 1] as string;
        out[++i] = `${v.slice(0, v.indexOf(':'))}:${REDACTED}`;
        continue;
      }
    }
    // mysql -pSECRET (but not -p alone, which prompts)
    if (mysql && /^-p.+/.test(a)) {
      out[i] = `-p${REDACTED}`;
      continue;
    }
    out[i] = redactText(a);
  }
  return out;
}

/** A copy of an environment with secret-named variables and token-shaped values redacted. */
export function redactEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    out[k] = v !== '' && (isSecretName(k) || looksLikeToken(v)) ? REDACTED : redactText(v);
  }
  return out;
}

/** Redacts the values of a `.env`-style file's `KEY=value` lines (comments and other lines kept as they are). */
export function redactDotenv(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const m = /^(\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_.-]*\s*=\s*)(.*)$/.exec(line);
      if (!m) return redactText(line);
      const [, head, value] = m as unknown as [string, string, string];
      if (value.trim() === '') return line;
      return `${head}${REDACTED}`;
    })
    .join('\n');
}
