/**
 * The exfiltration check on hostnames (issue 6 item 6): data can leave through a DNS lookup or a proxy request
 * alone, encoded in a long label (`4f2a9c…e1.attacker.example`). A hostname is refused when one of its labels is
 * at least {@link EXFIL_MIN_LABEL} characters long and looks encoded: only hex digits, letters mixed with digits
 * (base32 / base36 / base64url), or a Shannon entropy of at least {@link EXFIL_MIN_BITS} bits per character that
 * is also at least {@link EXFIL_MIN_RATIO} of the most a label of that length can have (log2 of min(length, 37),
 * the DNS alphabet). Measured: English-like labels of 25–35 characters have 3.4–4.0 bits and a ratio below 0.8
 * (`thisisaverylongsubdomainnameforsure` 3.97 / 0.77); random lower-case labels of 25 characters 4.5 / 0.96.
 */

/** Shortest label that is examined (characters). */
export const EXFIL_MIN_LABEL = 24;
/** Per-character Shannon entropy (bits) at or above which a long label counts as encoded. */
export const EXFIL_MIN_BITS = 3.8;
/** Share of the largest possible entropy for the label's length at or above which it counts as encoded. */
export const EXFIL_MIN_RATIO = 0.85;

/** Shannon entropy of `s` in bits per character (0 for an empty string). */
export function shannonBits(s: string): number {
  if (s.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Why `label` looks like encoded data, or null when it does not. */
function encodedLabel(label: string): string | null {
  if (label.length < EXFIL_MIN_LABEL) return null;
  if (/^[0-9a-f]+$/i.test(label)) return 'hex';
  const letters = (label.match(/[a-z]/gi) ?? []).length;
  const digits = (label.match(/[0-9]/g) ?? []).length;
  if (letters > 0 && digits >= 4 && !label.includes('-'))
    return 'letters mixed with digits (base32/base64-like)';
  const bits = shannonBits(label.toLowerCase());
  const ratio = bits / Math.log2(Math.min(label.length, 37));
  if (bits >= EXFIL_MIN_BITS && ratio >= EXFIL_MIN_RATIO) return `entropy ${bits.toFixed(2)} bits/char`;
  return null;
}

/**
 * Checks a hostname (already lower-cased, no trailing dot). IP literals are never flagged.
 * @returns null when the name is fine, else `{label, reason}` for the first encoded-looking label.
 */
export function exfilLabel(host: string): { label: string; reason: string } | null {
  if (/^[0-9.]+$/.test(host) || host.includes(':')) return null;
  for (const label of host.split('.')) {
    const reason = encodedLabel(label);
    if (reason) return { label, reason };
  }
  return null;
}
