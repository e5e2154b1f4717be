/**
 * The Content-Security-Policy of the desktop app's pages. It is delivered twice on purpose:
 *
 * - the renderer ships it as `<meta http-equiv="Content-Security-Policy">` in `dist/renderer/index.html` —
 *   the delivery Electron's security guide documents for `file://` pages;
 * - the main process also adds it as a response header through `session.webRequest.onHeadersReceived`
 *   (reports differ on whether that hook fires for `file://`: electron/electron#23485 says no on Electron 8,
 *   later reports say yes; the meta tag makes the outcome not matter).
 *
 * The renderer talks to the daemon only through the preload bridge in Electron, so it needs no network.
 * `connect-src 'self'` keeps the same bundle working in a browser, where the daemon serves it over HTTP and
 * its WebSocket is same-origin.
 */

/** The policy, one directive per entry. No `unsafe-inline`, no `unsafe-eval`, nothing remote. */
export const CSP_DIRECTIVES: readonly string[] = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "object-src 'none'",
];

/** The policy as one header value. */
export const CSP: string = CSP_DIRECTIVES.join('; ');

/**
 * Returns `headers` with our Content-Security-Policy replacing any the response carried (header names are
 * case-insensitive). Shape matches Electron's `OnHeadersReceivedListenerDetails.responseHeaders`.
 */
export function withCsp(
  headers: Record<string, string[]> | undefined,
  csp: string = CSP,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (k.toLowerCase() !== 'content-security-policy') out[k] = v;
  }
  out['Content-Security-Policy'] = [csp];
  return out;
}

/**
 * Finds the CSP a page ships in a `<meta http-equiv="Content-Security-Policy" content="…">`, or null.
 * Used by the test that checks the built renderer carries one at least as strict as ours.
 */
export function metaCsp(html: string): string | null {
  for (const m of html.matchAll(/<meta\b[^>]*>/gi)) {
    const tag = m[0];
    if (!/http-equiv\s*=\s*["']?content-security-policy["']?/i.test(tag)) continue;
    const c = /content\s*=\s*(?:"([^"]*)"|'([^']*)')/i.exec(tag);
    if (c) return (c[1] ?? c[2] ?? '').trim();
  }
  return null;
}

/** Problems that make a CSP weaker than ours: unsafe sources, remote hosts, missing `default-src 'none'`. */
export function cspWeaknesses(csp: string): string[] {
  const problems: string[] = [];
  const directives = new Map<string, string[]>();
  for (const part of csp.split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name.toLowerCase(), values);
  }
  if (directives.get('default-src')?.join(' ') !== "'none'") problems.push("default-src is not 'none'");
  for (const [name, values] of directives) {
    for (const v of values) {
      if (/^'unsafe-/i.test(v)) problems.push(`${name} allows ${v}`);
      if (v === '*' || /^(https?|wss?):/i.test(v) || /^[a-z0-9.-]+\.[a-z]{2,}/i.test(v)) {
        problems.push(`${name} allows remote source ${v}`);
      }
    }
  }
  if (!directives.has('script-src') && !directives.has('default-src')) problems.push('no script-src');
  return problems;
}
