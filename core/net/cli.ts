/**
 * `warden net rules` and `warden net check HOST[:PORT]`: the egress rules in effect and what the proxy would
 * decide for a destination (no connection is made, no hold is opened).
 */
import { resolve } from 'node:path';
import type { Command, Option } from 'commander';
import { z } from 'zod';
import { printJson, withDaemon, type GlobalOpts } from '../cli/common.js';
import { WardenError } from '../util/errors.js';

const ruleRow = z.looseObject({
  id: z.string(),
  band: z.string(),
  hosts: z.array(z.string()),
  ports: z.array(z.number()).optional(),
  decision: z.string(),
});
const decision = z.object({ decision: z.string(), ruleId: z.string(), band: z.string(), why: z.string() });

/** `host`, `host:port` or `[v6]:port` → host and port (default 443). */
export function parseDestination(dest: string, port?: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(dest) ?? /^([^:]+)(?::(\d+))?$/.exec(dest);
  const p = Number(port ?? m?.[2] ?? 443);
  if (!m || !Number.isInteger(p) || p < 1 || p > 65535)
    throw new WardenError('bad-destination', `want HOST, HOST:PORT or [IPv6]:PORT (port 1-65535), not ${JSON.stringify(dest)}`, 2); // prettier-ignore
  return { host: m[1] as string, port: p };
}

/** Registers `warden net …` on `program`. */
export function registerNetCommands(program: Command, stateOption: () => Option): void {
  const net = program
    .command('net')
    .description('network rules of isolated runs (`warden run --net isolated`, the default where it works)');
  const policies = (v: string, acc: string[]) => [...acc, resolve(v)];
  net
    .command('rules')
    .description('the network rules in effect, in evaluation order (first match wins)')
    .option('--policy <file>', 'also this policy file, as `warden run --policy` (repeatable)', policies, [])
    .option('--json', 'machine-readable output')
    .addOption(stateOption())
    .action(async (opts: GlobalOpts & { policy: string[]; json?: boolean }) =>
      withDaemon(opts, async (c) => {
        const rules = ruleRow.array().parse(await c.call('net.rules', { policies: opts.policy }));
        if (opts.json) return printJson(rules);
        for (const r of rules)
          process.stdout.write(
            `${r.band.padEnd(16)} ${r.id.padEnd(28)} ${r.decision.padEnd(5)} ${r.hosts.join(',')}${r.ports ? ` ports ${r.ports.join(',')}` : ''}\n`,
          );
      }),
    );
  net
    .command('check')
    .description('what the egress proxy would decide for a destination (nothing is contacted)')
    .argument('<destination>', 'HOST, HOST:PORT or [IPv6]:PORT (default port 443)')
    .option('--policy <file>', 'also this policy file, as `warden run --policy` (repeatable)', policies, [])
    .option('--json', 'machine-readable output')
    .addOption(stateOption())
    .action(async (dest: string, opts: GlobalOpts & { policy: string[]; json?: boolean }) =>
      withDaemon(opts, async (c) => {
        const { host, port } = parseDestination(dest);
        const d = decision.parse(await c.call('net.check', { host, port, policies: opts.policy }));
        if (opts.json) return printJson(d);
        process.stdout.write(`${d.decision} ${host}:${port}: rule ${d.ruleId}${d.band ? ` (band ${d.band})` : ''}: ${d.why}\n`);
      }),
    ); // prettier-ignore
}
