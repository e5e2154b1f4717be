import type { Hold } from '../../core/api/contract';

const globEscape = (s: string) => s.replace(/[*?[\]{}\\]/g, '\\$&');
const dirname = (p: string) => {
  const i = p.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
};

/**
 * The rule "Always allow" will make the daemon append to `<state>/policies/05-always.yaml` (mirrors
 * core/holds/manager.ts writeAlwaysRule; the daemon's answer carries the exact text it wrote).
 */
export function alwaysRulePreview(h: Hold): string {
  const q = (s: string) => JSON.stringify(s);
  const match =
    h.op === 'exec'
      ? `      op: [exec]\n      command: { argv: [${h.argv
          .map((a, i) => q(i === 0 ? (a.split('/').pop() ?? a) : globEscape(a)))
          .join(', ')}] }\n`
      : `      op: [${h.op}]\n      path: [${q(
          globEscape(h.burst?.root ?? (h.op === 'delete' ? dirname(h.path ?? '/') : (h.path ?? '/'))) +
            (h.op === 'delete' ? '/**' : ''),
        )}]\n`;
  return `  - id: always-${h.run}-${h.hold}\n    match:\n${match}    decision: allow\n`;
}
