/**
 * The secret-read → egress escalation (issue 6 item 6), as far as a run's journal can show it. Read-only opens
 * stay in the kernel (the seccomp filter lets them through for speed), so Warden does not see `open(".env")`
 * itself; what it does see is every exec's argv (`cat ~/.ssh/id_rsa`, `base64 .env`, `cp ~/.aws/credentials
 * x`) and every trapped write, create, rename or delete. A run whose journal shows one of those naming a
 * secret file is marked; from then on a connection a catch-all rule (a rule with host `*`) would allow is held
 * for a person instead (`builtin-secret-egress`), and every connect hold of the run names the secret. Hosts on
 * an explicit allowlist rule (the agent's model API, registries, git hosting) are not escalated.
 *
 * Not covered: a program that opens and reads a secret itself without naming it in an argv (an interpreter
 * reading `~/.aws/credentials`, a script file whose contents name the file): that needs the helper to trap
 * read-only opens of secret paths (a table entry for read + a hold), which is not built.
 */
import { join, resolve } from 'node:path';
import picomatch from 'picomatch';
import type { Service } from '../daemon/service.js';
import { ingestRun } from '../journal/ingest.js';
import { NET_SEQ_BASE } from './env.js';

/** Secret files (`~` = the run's home; patterns starting with `**` match anywhere). */
export const SECRET_GLOBS = [
  '**/.env',
  '**/.env.*',
  '~/.ssh/**',
  '~/.aws/credentials',
  '~/.aws/config',
  '~/.config/gcloud/**',
  '~/.azure/**',
  '~/.kube/config',
  '~/.docker/config.json',
  '~/.netrc',
  '~/.git-credentials',
  '~/.npmrc',
  '~/.pypirc',
  '~/.config/gh/hosts.yml',
  '**/*.pem',
  '**/id_rsa*',
  '**/id_ed25519*',
  '**/id_ecdsa*',
];

/** The first sign of a secret read in a run: which file, and the event that showed it. */
export interface SecretSign {
  path: string;
  seq: number;
  op: string;
  argv: string[] | null;
}

export class SecretWatch {
  private readonly isSecret: (p: string) => boolean;
  private afterSeq = 0;
  private found: SecretSign | null = null;

  constructor(
    private readonly service: Service,
    private readonly run: number,
    private readonly home: string,
    private readonly cwd: string,
  ) {
    const globs = SECRET_GLOBS.map((g) => (g.startsWith('~/') ? join(home, g.slice(2)) : g));
    this.isSecret = picomatch(globs, { dot: true });
  }

  private candidate(arg: string): string | null {
    if (arg.startsWith('-') || arg.length > 4096) return null;
    const eq = arg.indexOf('=');
    const value = eq > 0 && !arg.startsWith('/') ? arg.slice(eq + 1) : arg; // --file=.env, if=~/.ssh/key
    const expanded = value.startsWith('~/') ? join(this.home, value.slice(2)) : value;
    const abs = resolve(this.cwd, expanded);
    return this.isSecret(abs) ? abs : null;
  }

  /**
   * The first secret this run's journal shows being touched, or null. Ingests the run's event log first, so an
   * exec that happened just before the connection is seen.
   */
  check(): SecretSign | null {
    if (this.found) return this.found;
    const { journal, blobs, layout } = this.service;
    try {
      ingestRun(journal, blobs, {
        runId: this.run,
        eventsPath: join(layout.runs, String(this.run), 'events.ndjson'),
        stageDir: join(layout.stage, String(this.run)),
      });
    } catch {
      /* the events journaled so far are still looked at */
    }
    for (const e of journal.events(this.run, { afterSeq: this.afterSeq })) {
      if (e.seq >= NET_SEQ_BASE) break; // the proxy's own connect events sort last
      this.afterSeq = e.seq;
      const hits = [
        ...(e.op === 'exec' ? (e.argv ?? []).slice(1).map((a) => this.candidate(a)) : []),
        typeof e.path === 'string' && this.isSecret(e.path) ? e.path : null,
        typeof e.path2 === 'string' && this.isSecret(e.path2) ? e.path2 : null,
      ].filter((x): x is string => x !== null);
      if (hits.length > 0) {
        this.found = { path: hits[0] as string, seq: e.seq, op: e.op, argv: e.argv };
        return this.found;
      }
    }
    return null;
  }
}
