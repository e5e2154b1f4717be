/**
 * Terminal renderings of holds: one card per pending hold (who asked, what, why, the preview, the deadline).
 */
import type { Hold } from '../api/contract.js';
import { showArgv, showPath } from './common.js';

/** Human-readable byte count (1.2 GB style, powers of 1000). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** One sentence saying what the hold is about, e.g. "`rm -rf data` wants to delete 10,000 files, 1.2 GB, under ~/p/data". */
export function holdHeadline(h: Hold): string {
  const who = `\`${showArgv(h.chain[0]?.argv ?? h.argv).slice(0, 80)}\``;
  if (h.op === 'delete' && h.preview?.kind === 'delete') {
    const where = h.burst?.root ?? h.path ?? '?';
    return `${who} wants to delete ${h.preview.files.toLocaleString('en')} file(s), ${formatBytes(h.preview.bytes)}, under ${showPath(where)}`;
  }
  if (h.op === 'exec') return `${who} wants to run \`${showArgv(h.argv)}\``;
  const target = h.path2 ? `${showPath(h.path ?? '')} -> ${showPath(h.path2)}` : showPath(h.path ?? '');
  return `${who} wants to ${h.op} ${target}`;
}

/** A multi-line card for `warden pending` and the terminal prompt. */
export function renderHold(h: Hold, now = Date.now()): string {
  const secs = Math.max(0, Math.round((h.deadline - now) / 1000));
  const lines = [
    `hold ${h.id} (${h.decision}${h.reason !== 'rule' ? `, ${h.reason}` : ''}) — ${holdHeadline(h)}`,
    `  rule ${h.rule} [${h.band}]${h.why ? `: ${h.why}` : ''}`,
    `  in ${secs}s: ${h.fallback} (${h.decision === 'delay' ? 'the delay ends' : 'no answer'})`,
  ];
  if (h.chain.length > 1)
    lines.push(
      `  process chain: ${h.chain.map((c) => `${c.pid} ${showArgv(c.argv).slice(0, 40)}`).join(' ← ')}`,
    );
  const p = h.preview;
  if (p?.kind === 'delete') {
    for (const t of p.top) lines.push(`    ${showPath(t.path)}: ${t.files} file(s), ${formatBytes(t.bytes)}`);
    if (p.truncated) lines.push('    (count truncated)');
  } else if (p?.kind === 'command') {
    lines.push(`  ${p.title}:`);
    for (const l of p.lines.slice(0, 20)) lines.push(`    ${showPath(l)}`);
    if (p.lines.length > 20 || p.truncated) lines.push('    …');
  } else if (p?.kind === 'mode') lines.push(`  mode ${p.before} -> ${p.after}`);
  if (h.op === 'delete')
    lines.push('  pre-images are kept whatever you answer; Deny stops the rest of this delete burst');
  if (h.irreversible) lines.push(`  irreversible: ${h.irreversible}`);
  return lines.join('\n');
}
