/**
 * How the egress proxy finds the address of a host: an `/etc/hosts`-style override file in the state dir
 * (`<state>/net/hosts`: `ADDRESS NAME…` per line, `#` comments), then the system resolver (`dns.lookup`, so
 * /etc/hosts and nsswitch apply as for any program). The override exists so tests (and people) can point a
 * name at a local server; it lives in the state dir, which agents cannot read or write (Landlock wall and the
 * `builtin-state-dir` rule), so a run cannot redirect its own allowed hosts.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { readFileSync, statSync } from 'node:fs';

/** Parses hosts-file text into name → address (first entry for a name wins, like /etc/hosts). */
export function parseHosts(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const [addr, ...names] = raw.replace(/#.*/, '').trim().split(/\s+/);
    if (!addr || isIP(addr) === 0) continue;
    for (const n of names) if (n && !out.has(n.toLowerCase())) out.set(n.toLowerCase(), addr);
  }
  return out;
}

/** A resolver with the override file re-read when its mtime or size changes. */
export class HostResolver {
  private cache: { key: string; map: Map<string, string> } | null = null;

  constructor(private readonly overrideFile: string) {}

  private overrides(): Map<string, string> {
    let key: string;
    try {
      const st = statSync(this.overrideFile);
      key = `${st.mtimeMs}:${st.size}`;
    } catch {
      return new Map();
    }
    if (this.cache?.key !== key) {
      let text = '';
      try {
        text = readFileSync(this.overrideFile, 'utf8');
      } catch {
        /* removed meanwhile */
      }
      this.cache = { key, map: parseHosts(text) };
    }
    return this.cache.map;
  }

  /**
   * The address to connect to for `host` (an IP literal is returned as is).
   * @throws Error with code ENOTFOUND (from dns.lookup) when the name does not resolve.
   */
  async resolve(host: string): Promise<string> {
    if (isIP(host)) return host;
    const o = this.overrides().get(host.toLowerCase());
    if (o) return o;
    return (await lookup(host)).address;
  }
}
