/**
 * The destination name in a client's first bytes, for connections warden-watch steers into the egress proxy
 * (the client believes it talks to the server, so there is no CONNECT line naming a host): the server_name
 * (SNI) of a TLS ClientHello (RFC 8446 §4.1.2, RFC 6066 §3) or the Host field of an HTTP/1.x request (RFC 9112
 * §3.2). Pure functions over bytes; every length is bounds-checked, nothing here throws.
 */

/** What the first bytes of a connection say. `complete`: enough bytes were seen to decide (or never will be). */
export interface Sniffed {
  kind: 'tls' | 'http' | 'other';
  /** Lower-case host name without a trailing dot, or null when the bytes name none. */
  host: string | null;
  complete: boolean;
}

/** Most bytes waited for: one TLS record (2^14 + 5, RFC 8446 §5.1) or an HTTP head of the proxy's limit. */
export const SNIFF_MAX = 16 * 1024 + 5;

const HOST_RE = /^[a-z0-9_](?:[a-z0-9_.-]{0,252})$/;
const METHOD_RE = /^[A-Z]{3,10} /;

function cleanHost(h: string): string | null {
  const host = h.trim().toLowerCase().replace(/\.$/, '');
  return HOST_RE.test(host) ? host : null;
}

/** The SNI host_name of the ClientHello in TLS record `b` (whole record present), or null. */
function sniOf(b: Buffer): string | null {
  // record: type(1)=22 version(2) length(2); handshake: type(1)=1 length(3) version(2) random(32)
  let p = 5;
  if (b.length < p + 4 || b[p] !== 1) return null;
  const hsEnd = Math.min(b.length, p + 4 + b.readUIntBE(p + 1, 3));
  p += 4 + 2 + 32;
  const skip = (lenBytes: number): boolean => {
    if (p + lenBytes > hsEnd) return false;
    const n = b.readUIntBE(p, lenBytes);
    p += lenBytes + n;
    return p <= hsEnd;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return null; // session id, cipher suites, compression methods
  if (p + 2 > hsEnd) return null;
  const extEnd = Math.min(hsEnd, p + 2 + b.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    p += 4;
    if (p + len > extEnd) return null;
    if (type === 0) {
      // server_name: list length(2), then entries name_type(1) length(2) name
      let q = p + 2;
      const listEnd = Math.min(p + len, p + 2 + (len >= 2 ? b.readUInt16BE(p) : 0));
      while (q + 3 <= listEnd) {
        const nameType = b[q] as number;
        const n = b.readUInt16BE(q + 1);
        q += 3;
        if (q + n > listEnd) return null;
        if (nameType === 0) return cleanHost(b.toString('latin1', q, q + n));
        q += n;
      }
      return null;
    }
    p += len;
  }
  return null;
}

/**
 * Reads what `b` (a connection's first bytes, possibly cut) says about the destination. A TLS handshake record
 * is complete when its whole record is there; an HTTP head when its blank line is; other bytes at once.
 */
export function sniffFirstBytes(b: Buffer): Sniffed {
  if (b.length === 0) return { kind: 'other', host: null, complete: false };
  if (b[0] === 22) {
    if (b.length < 5) return { kind: 'tls', host: null, complete: false };
    const need = 5 + b.readUInt16BE(3);
    if (b.length < need && b.length < SNIFF_MAX) return { kind: 'tls', host: null, complete: false };
    return { kind: 'tls', host: sniOf(b.subarray(0, need)), complete: true };
  }
  const start = b.toString('latin1', 0, Math.min(b.length, 12));
  if (METHOD_RE.test(start) || (b.length < 11 && /^[A-Z]+$/.test(start))) {
    const text = b.toString('latin1', 0, Math.min(b.length, SNIFF_MAX));
    const end = text.indexOf('\r\n\r\n');
    if (end < 0 && b.length < SNIFF_MAX) return { kind: 'http', host: null, complete: false };
    const head = end < 0 ? text : text.slice(0, end);
    const m = /\r\nhost:[ \t]*([^\r\n]*)/i.exec(head);
    const value = m ? (m[1] as string).replace(/:\d+$/, '') : '';
    return { kind: 'http', host: value ? cleanHost(value) : null, complete: true };
  }
  return { kind: 'other', host: null, complete: true };
}
