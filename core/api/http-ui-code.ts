/**
 * One-time codes for opening the UI without putting the API token on a command line (`ps` shows every
 * process's argv to every user). `warden ui` asks for a code on the private unix socket (`POST /api/ui.code`,
 * no token: the 0600 socket in the 0700 state dir is the gate), hands the browser
 * `http://127.0.0.1:<port>/#code=<code>`, and the page trades the code for the token once
 * (`POST /api/ui.exchange` on 127.0.0.1, Host/Origin checked). A code is 256 random bits, valid for
 * `CODE_TTL_MS`, and works once: someone who copies it from `ps` in that window can at most use it instead of
 * the person, whose page then says the code was already used (and `warden ui` can be run again).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { tokenEquals } from './http-guard.js';

/** How long a code may be exchanged, in ms. */
export const CODE_TTL_MS = 60_000;

/** Body of `POST /api/ui.exchange`. */
export const exchangeSchema = z.object({ code: z.string().regex(/^[A-Za-z0-9_-]{32,64}$/) }).strict();

/** Issued codes of one API (at most 64 outstanding: older ones are dropped first). */
export class UiCodes {
  private codes = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A fresh code and its lifetime in ms. */
  issue(): { code: string; ttlMs: number } {
    this.prune();
    const code = randomBytes(32).toString('base64url');
    this.codes.set(code, this.now() + CODE_TTL_MS);
    while (this.codes.size > 64) this.codes.delete(this.codes.keys().next().value as string);
    return { code, ttlMs: CODE_TTL_MS };
  }

  /** True (and the code is spent) when `code` was issued, is unexpired and unused. Constant-time compare. */
  redeem(code: string): boolean {
    this.prune();
    for (const [c] of this.codes) {
      if (tokenEquals(code, c)) {
        this.codes.delete(c);
        return true;
      }
    }
    return false;
  }

  private prune(): void {
    const t = this.now();
    for (const [c, until] of this.codes) if (until <= t) this.codes.delete(c);
  }
}
