// Field escaping for the run table (helper/linux/WIRE.md §1): the daemon writes it, `warden-supervise` reads it.
// In every field `\` → `\\`, TAB → `\t`, newline → `\n`, any other byte below 0x20 → `\xHH`. Fields are
// separated by one TAB, records by `\n`. `core/policy/compile.ts` builds the records; this file only encodes.

/** The record kinds WIRE.md §1 and §3 define, in the order `compileTable` writes them. */
export const TABLE_RECORD_KINDS = [
  'warden-table',
  'run',
  'state',
  'socket',
  'events',
  'stage',
  'home',
  'workspace',
  'preimage_max',
  'trash',
  'delete_delay_ms',
  'ask_timeout_ms',
  'bulk',
  'idle_ms',
  'repeat',
  'wall_write',
  'wall_deny_read',
  'rule',
  'landlock',
] as const;
export type TableRecordKind = (typeof TABLE_RECORD_KINDS)[number];

/**
 * Escapes one field per WIRE.md §1. Works on UTF-16 strings: characters ≥ 0x20 are kept as they are (the file is
 * written as UTF-8), so only `\`, TAB, newline and the other C0 controls change.
 */
export function escapeField(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (code < 0x20) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/**
 * Inverse of {@link escapeField} (what the helper does; used by tests and by `warden-match` input).
 * @throws Error on a dangling backslash or an unknown escape.
 */
export function unescapeField(field: string): string {
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const ch = field[i];
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const next = field[i + 1];
    if (next === '\\') out += '\\';
    else if (next === 't') out += '\t';
    else if (next === 'n') out += '\n';
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(field.slice(i + 2, i + 4))) {
      out += String.fromCharCode(parseInt(field.slice(i + 2, i + 4), 16));
      i += 2;
    } else throw new Error(`bad escape at offset ${i} in table field ${JSON.stringify(field)}`);
    i += 1;
  }
  return out;
}

/** One record: `kind` then the escaped fields, TAB-separated, without the trailing newline. */
export function formatTableLine(kind: TableRecordKind, ...fields: (string | number)[]): string {
  return [kind, ...fields.map((f) => escapeField(String(f)))].join('\t');
}

/** Splits one record line (no trailing newline) into its unescaped fields; `kind` is the first. */
export function parseTableLine(line: string): { kind: string; fields: string[] } {
  const [kind = '', ...rest] = line.split('\t');
  return { kind, fields: rest.map(unescapeField) };
}
