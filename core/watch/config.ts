/**
 * The config file of the root helper `warden-watch` (helper/linux/WIRE.md §4.1): TAB-separated records
 * compiled from the policy (`agents:` selectors, `settings.bulk`, `settings.ask_timeout`) and the command
 * line (watched roots, socket, shadow dir, the users whose daemons get events).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { agentSelectorSchema, type AgentSelectorSpec } from '../policy/schema.js';
import { loadPolicy, policySettings } from '../policy/index.js';
import { WardenError } from '../util/errors.js';

/** Everything the helper is started with. Paths absolute. Times in ms. */
export interface WatchConfig {
  socket: string;
  shadow: string;
  roots: string[];
  /** Opens for write beneath these are refused to agent trees (besides the state dirs and the shadow). */
  deny: string[];
  agents: AgentSelectorSpec[];
  /** uid → state dir of that user's daemon (used while the daemon is not connected). */
  users: { uid: number; state: string }[];
  bulk: { count: number; windowMs: number };
  askTimeoutMs: number;
  /** What a denied or unanswered bulk-delete hold does to the frozen tree. */
  bulkDeny: 'kill' | 'thaw';
  preimageMax: number;
  /** Tests: skip eBPF and walk /proc instead. */
  noBpf?: boolean;
  /**
   * FAN_OPEN_PERM marks only while an agent tree runs: no permission-event cost for anyone while no agent
   * runs, but an agent's opens before the helper has seen its exec are not held.
   */
  lazyPerm?: boolean;
  /**
   * `steer` (default): TCP connections of agent trees to anything but loopback are steered into the user's egress
   * proxy (cgroup/connect4/6, WIRE.md §5.2); `off`: they go out unchecked.
   */
  egress?: 'steer' | 'off';
}

/**
 * The agent selectors of the policy files, in band order (a later selector with the same id replaces the
 * earlier one). @throws WardenError('policy-invalid') naming the file and the selector.
 */
export function agentSelectors(files: string[]): AgentSelectorSpec[] {
  const byId = new Map<string, AgentSelectorSpec>();
  for (const f of files) {
    const doc = parse(readFileSync(f, 'utf8')) as { agents?: unknown } | null;
    if (!doc || doc.agents === undefined) continue;
    if (!Array.isArray(doc.agents))
      throw new WardenError('policy-invalid', `${f}: agents must be a list of selectors`, 2);
    for (const [i, a] of doc.agents.entries()) {
      const r = agentSelectorSchema.safeParse(a);
      if (!r.success)
        throw new WardenError(
          'policy-invalid',
          `${f}: agents[${i}]: ${r.error.issues.map((x) => x.message).join('; ')}`,
          2,
        );
      byId.set(r.data.id, r.data);
    }
  }
  return [...byId.values()];
}

/** Bulk gate and ask timeout from the policy's `settings:` (defaults of WIRE.md §3). */
export function watchSettings(files: string[]): {
  bulk: { count: number; windowMs: number };
  askTimeoutMs: number;
} {
  const s = policySettings(loadPolicy(files));
  return { bulk: s.bulk, askTimeoutMs: s.askTimeoutMs };
}

const field = (what: string, v: string): string => {
  if (/[\t\n\r]/.test(v))
    throw new WardenError('bad-path', `${what} ${JSON.stringify(v)} contains a TAB or newline`, 2);
  return v;
};

/** Renders `c` as the helper's config text (WIRE.md §4.1). @throws WardenError for paths with TAB/newline. */
export function renderWatchConfig(c: WatchConfig): string {
  const l: string[] = ['warden-watch\t1'];
  l.push(`socket\t${field('socket', c.socket)}`, `shadow\t${field('shadow', c.shadow)}`);
  for (const r of c.roots) l.push(`root\t${field('root', r)}`);
  for (const d of c.deny) l.push(`deny\t${field('deny', d)}`);
  for (const a of c.agents) {
    for (const e of a.exe ?? []) l.push(`agent\t${a.id}\texe\t${field('agent exe', e)}`);
    for (const e of a.argv ?? []) l.push(`agent\t${a.id}\targv\t${field('agent argv', e)}`);
  }
  for (const u of c.users) l.push(`user\t${u.uid}\t${field('state dir', u.state)}`);
  l.push(`bulk\t${c.bulk.count}\t${c.bulk.windowMs}`);
  l.push(`bulk_deny\t${c.bulkDeny}`, `ask_timeout_ms\t${c.askTimeoutMs}`, `preimage_max\t${c.preimageMax}`);
  if (c.noBpf) l.push('no_bpf\t1');
  if (c.lazyPerm) l.push('lazy_perm\t1');
  l.push(`egress\t${c.egress ?? 'steer'}`);
  return l.join('\n') + '\n';
}
