/**
 * The decision for one proxied connection of a run: the network policy (rules.ts), and for `ask` a real hold
 * through the daemon's HoldManager (op `connect`, `host:port` as its path) that a person answers with the
 * usual `warden approve/deny`, the desktop app or the API. This gate owns each hold's deadline: at its end the
 * rule's fallback (default deny) applies to that one connection. `run`/`always` answers are remembered for
 * `host:port` for the rest of the run; `always` + allow also appends a rule to the user's
 * `<state>/policies/05-always-network.yaml`.
 *
 * The client's pid is not visible here (the connection arrives through warden-netns's forwarder), so a hold
 * shows the run's root process, its argv and cwd, and says so in its preview.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { join } from 'node:path';
import type { Hold } from '../api/contract.js';
import type { Service } from '../daemon/service.js';
import type { GateResult } from './proxy.js';
import { decideConnect, type NetDecision, type NetPolicy } from './rules.js';
import { NET_HOLD_BASE } from './env.js';
import type { SecretSign, SecretWatch } from './secrets.js';

export { NET_HOLD_BASE };

const apiJson = z.looseObject({ port: z.number().int() });

export class ConnectGate {
  private holds = 0;
  private readonly remembered = new Map<string, 'allow' | 'deny'>();
  private readonly pending = new Map<string, (d: 'allow' | 'deny', by: string) => void>();

  constructor(
    private readonly service: Service,
    private readonly run: number,
    private readonly policy: NetPolicy,
    private readonly secrets?: SecretWatch,
  ) {}

  /**
   * The secret escalation (secrets.ts): once the run has touched a secret, an `allow` by a catch-all rule
   * (host `*`) becomes an ask under `builtin-secret-egress`. Returns the decision to apply and the sign seen.
   */
  private escalate(d: NetDecision, host: string): { d: NetDecision; secret: SecretSign | null } {
    if (d.decision === 'deny' || !this.secrets) return { d, secret: null };
    const secret = this.secrets.check();
    if (!secret || d.decision !== 'allow') return { d, secret };
    const rule = this.policy.rules.find((r) => r.id === d.ruleId);
    if (!rule || !rule.hosts.includes('*')) return { d, secret };
    return {
      secret,
      d: {
        decision: 'ask',
        ruleId: 'builtin-secret-egress',
        band: 'builtin',
        why: `The run touched the secret ${secret.path} earlier, and ${host} is allowed only by the catch-all rule ${d.ruleId}: data may be leaving.`,
        timeoutMs: this.policy.askTimeoutMs,
        fallback: 'deny',
      },
    };
  }

  /** Decides (and for `ask`, holds) a connection; resolves when the decision is final. */
  decide(host: string, port: number, method: string): Promise<GateResult> {
    const own = this.wardenApi(host, port);
    if (own) return Promise.resolve(own);
    const { d, secret } = this.escalate(decideConnect(this.policy, host, port), host);
    const base = { ruleId: d.ruleId, band: d.band, why: d.why };
    if (d.decision !== 'ask') return Promise.resolve({ ...base, decision: d.decision });
    const key = `${host}:${port}`;
    const known = this.remembered.get(key);
    if (known) return Promise.resolve({ ...base, decision: known, holdBy: 'person' });
    const holdNo = NET_HOLD_BASE + ++this.holds;
    const id = `${this.run}-${holdNo}`;
    const start = Date.now();
    const timeoutMs = d.timeoutMs ?? 300_000;
    const fallback = d.fallback ?? 'deny';
    const row = this.service.journal.getRun(this.run);
    const rootPid = row?.rootPid ?? 0;
    const hold: Hold = {
      id,
      run: this.run,
      hold: holdNo,
      seq: 0,
      ts: start,
      deadline: start + timeoutMs,
      fallback,
      decision: 'ask',
      reason: 'rule',
      rule: d.ruleId,
      band: d.band,
      why: d.why,
      op: 'connect',
      sys: method,
      path: key,
      path2: null,
      pid: rootPid,
      cwd: row?.cwd ?? null,
      argv: row?.argv ?? [],
      chain: rootPid ? this.service.journal.processChain(this.run, rootPid) : [],
      burst: null,
      preview: {
        kind: 'command',
        title: `${method} ${key}`,
        lines: [
          `An outbound connection to ${key} through Warden's egress proxy.`,
          "The process that opened it is not known to the proxy: the run's root process is shown.",
          ...(secret
            ? [
                `The run touched the secret file ${secret.path} earlier (${secret.op} event #${secret.seq}${secret.argv ? `: ${secret.argv.join(' ')}` : ''}).`,
              ]
            : []),
        ],
        truncated: false,
      },
      irreversible: 'Data sent over the network cannot be recalled by a rollback.',
    };
    return new Promise<GateResult>((resolve) => {
      const done = (decision: 'allow' | 'deny', by: string) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve({ ...base, decision, holdId: holdNo, holdBy: by, heldMs: Date.now() - start });
      };
      const timer = setTimeout(() => {
        this.service.holds.resolveLocal(id, fallback, 'timeout');
        done(fallback, 'timeout');
      }, timeoutMs);
      this.pending.set(id, done);
      this.service.holds.addLocal(hold, (decision, scope) => {
        if (scope === 'run' || scope === 'always') this.remembered.set(key, decision);
        if (scope === 'always' && decision === 'allow') this.writeAlways(hold, host, port);
        done(decision, 'person');
      });
    });
  }

  /**
   * `builtin-warden-api`: the daemon's own HTTP API (the port in `<state>/api.json`) on a loopback address is
   * never a destination for a run, whatever the rules say (DESIGN.md safety property 4).
   */
  private wardenApi(host: string, port: number): GateResult | null {
    if (!/^(localhost|127(\.\d{1,3}){3}|::1|::ffff:127(\.\d{1,3}){3})$/.test(host)) return null;
    let api: number | undefined;
    try {
      api = apiJson.parse(JSON.parse(readFileSync(this.service.layout.apiJson, 'utf8'))).port;
    } catch {
      return null; // no HTTP API
    }
    if (api !== port) return null;
    return {
      decision: 'deny',
      ruleId: 'builtin-warden-api',
      band: 'builtin',
      why: "Warden's own control API is off limits to agents.",
    };
  }

  /** The run ends: every waiting connection is refused (`gone`). */
  endAll(): void {
    for (const [id, done] of [...this.pending]) {
      this.service.holds.resolveLocal(id, 'deny', 'gone');
      done('deny', 'gone');
    }
  }

  private writeAlways(h: Hold, host: string, port: number): void {
    const dir = this.service.layout.policies;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, '05-always-network.yaml');
    if (!existsSync(file))
      writeFileSync(
        file,
        '# Network rules written by "Always allow" answers to connect holds. Edit or delete freely.\nnetwork:\n  rules:\n',
        { mode: 0o600 },
      );
    const q = (s: string) => JSON.stringify(s);
    const id = `always-net-${h.run}-${h.hold}`;
    appendFileSync(
      file,
      `    - id: ${id}\n      why: ${q(`Allowed always by a person answering hold ${h.id} (${new Date().toISOString()}).`)}\n` +
        `      hosts: [${q(host.replace(/[*?[\]{}\\]/g, '\\$&'))}]\n      ports: [${port}]\n      decision: allow\n`,
    );
    this.service.log(`daemon: wrote network rule ${id} to ${file}`);
  }
}
