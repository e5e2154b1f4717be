// The irreversibility ledger: what a run did that no rollback can undo, and why.
import type { FsPath, Pre } from '../wire/events.js';
import type { Journal } from './journal.js';
import type { EventRow } from './types.js';

/** One irreversible effect. `path` is a display string (non-UTF-8 bytes as latin1). */
export interface LedgerEntry {
  seq: number;
  op: string;
  path: string;
  why: string;
}

const show = (p: FsPath | null): string =>
  p === null ? '' : typeof p === 'string' ? p : p.toString('latin1');

// Commands whose effect is elsewhere (a remote, a registry, another machine): journaled as exec events.
const REMOTE: { re: RegExp; why: string }[] = [
  { re: /^git (?:.* )?push\b/, why: 'git push: published to a remote' },
  { re: /^(?:npm|pnpm|yarn) (?:.* )?publish\b/, why: 'package published to a registry' },
  {
    re: /^(?:cargo|twine|gem|poetry) (?:.* )?(?:publish|upload|push)\b/,
    why: 'package published to a registry',
  },
  { re: /^docker (?:.* )?push\b/, why: 'image pushed to a registry' },
  { re: /^(?:ssh|scp|sftp|rsync) /, why: 'remote command or copy to another machine' },
  { re: /^(?:kubectl (?:apply|delete|create|replace|patch|scale)|terraform (?:apply|destroy)|helm (?:install|upgrade|uninstall))\b/, why: 'changed remote infrastructure' }, // prettier-ignore
  {
    re: /^gh (?:pr|issue|release|repo) (?:create|merge|close|delete|edit|comment)\b/,
    why: 'changed a GitHub repository',
  },
  { re: /^curl .*(?:-X ?(?:POST|PUT|PATCH|DELETE)|--data|-d |-F |--form|--upload-file|-T )/, why: 'HTTP request that sends data' }, // prettier-ignore
];

function remoteWhy(argv: string[] | null): string | undefined {
  if (!argv?.length) return undefined;
  const line = [String(argv[0]).replace(/^.*\//, ''), ...argv.slice(1)].join(' ');
  return REMOTE.find((r) => r.re.test(line))?.why;
}

function preWhy(pre: Pre | null, preSha: string | null, what: string): string | undefined {
  if (!pre) return undefined;
  if (pre.kind === 'toolarge')
    return `${what}: file above the pre-image size limit${pre.size !== undefined ? ` (${pre.size} bytes)` : ''}, its old content was not kept`;
  if ((pre.kind === 'link' || pre.kind === 'copy') && !preSha)
    return `${what}: pre-image missing, the old content is lost`;
  if (pre.type === 'fifo' || pre.type === 'other') return `${what}: a ${pre.type} cannot be recreated`;
  return undefined;
}

function entryOf(e: EventRow): string | undefined {
  switch (e.op) {
    case 'connect':
      return 'network connection: whatever was sent cannot be recalled';
    case 'exec':
      return remoteWhy(e.argv);
    case 'delete':
      return preWhy(e.pre, e.preSha, 'deleted');
    case 'write':
      return preWhy(e.pre, e.preSha, 'overwritten');
    case 'create':
      return preWhy(e.pre, e.preSha, 'replaced');
    case 'rename':
      return preWhy(e.pre, e.preSha, 'replaced by rename');
    default:
      return undefined;
  }
}

/**
 * What run `runId` did that cannot be undone, in seq order: allowed, successful network connections, remote
 * commands (pushes, publishes, ssh, …), writes and deletes whose pre-image was too large to keep or is missing.
 * Events that were denied, failed, or steered (e.g. a delete turned into a move to the trash) are reversible
 * or had no effect, so they are not listed.
 */
export function runLedger(journal: Journal, runId: number): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  for (const e of journal.events(runId)) {
    if (e.errno !== 0 || e.decision !== 'allow') continue; // steered: in the trash, reversible
    const why = entryOf(e);
    if (!why) continue;
    const cmd = e.op === 'exec' && e.argv ? ` (${e.argv.join(' ')})` : '';
    out.push({ seq: e.seq, op: e.op, path: show(e.path), why: why + cmd });
  }
  return out;
}
